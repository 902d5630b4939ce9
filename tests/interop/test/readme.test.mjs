// Every command the README shows in a code block (and `mepassa-bootstrap
// ...` in inline code) is run as written against the built binary, from a
// working directory where `build/` is the build directory and `./data` the
// default DATA_DIR. Only the probe's placeholder address is replaced, by the
// node this test starts. Commands that install, build or benchmark are
// listed below with the reason; a command the test does not know fails it,
// so a new README command gets run too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync, symlinkSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { tempDir, waitFor, sleep, BINARY } from '../lib/harness.mjs'

const run = promisify(execFile)
const README = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8')

const NOT_RUN = [
  [/^scripts\/run\.sh/, 'installs Debian packages and builds'],
  [/^scripts\/test\.sh/, 'installs, builds and runs every test (it runs this one)'],
  [/^node --import \S+ bench\//, 'a benchmark of several minutes'],
  [/^cd build && cpack/, 'packaging']
]

// Code blocks: { lang, lines } with shell prompts and trailing comments removed.
function codeBlocks (text) {
  const blocks = []
  for (const m of text.matchAll(/```(\w*)\n([\s\S]*?)```/g)) {
    blocks.push({ lang: m[1], lines: m[2].split('\n').filter(l => l.trim() !== '') })
  }
  return blocks
}

function stripComment (line) {
  // None of the README's commands has a '#' inside quotes.
  const at = line.search(/\s#\s/)
  return (at === -1 ? line : line.slice(0, at)).trim()
}

const blocks = codeBlocks(README)
const shellCommands = blocks.filter(b => b.lang === 'sh').flatMap(b => b.lines.map(stripComment))
const inlineCommands = [...README.matchAll(/`(mepassa-bootstrap [^`]+)`/g)].map(m => m[1])
// The ```text block that starts with "$ build/mepassa-bootstrap" and shows its output.
const runBlock = blocks.find(b => b.lang === 'text' && b.lines[0].startsWith('$ build/mepassa-bootstrap'))

function sh (command, cwd, env = {}) {
  return run('sh', ['-c', command], {
    cwd,
    env: { PATH: `${dirname(BINARY)}:${process.env.PATH}`, ...env },
    timeout: 30000
  }).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }))
}

test('the README shows the node, the operator commands and --help', () => {
  assert.ok(runBlock, 'README has the "$ build/mepassa-bootstrap" block')
  for (const c of ['mepassa-bootstrap peers stats', 'mepassa-bootstrap peers list --limit 5',
    'mepassa-bootstrap peers gc', 'mepassa-bootstrap --help']) {
    assert.ok(shellCommands.includes(c) || inlineCommands.includes(c), `README shows ${c}`)
  }
})

test('every README command runs as written', async () => {
  const cwd = tempDir('mp-readme-')
  symlinkSync(dirname(BINARY), join(cwd, 'build'))
  // The node as the README starts it, with loopback ports instead of 4001
  // and 8000 (the only difference; DATA_DIR is the default ./data).
  const cmd = runBlock.lines[0].replace(/^\$ /, '')
  const proc = spawn(cmd, [], {
    cwd,
    env: {
      PATH: process.env.PATH,
      LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0',
      HEALTH_PORT: '0',
      HEALTH_BIND: '127.0.0.1',
      ALLOW_PRIVATE_ADDRS: 'true'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  proc.stdout.on('data', d => { output += d })
  proc.stderr.on('data', d => { output += d })
  const exited = new Promise(resolve => proc.on('exit', (code, signal) => resolve({ code, signal })))
  try {
    // Each line the README shows appears (numbers, addresses and "..." vary).
    for (const shown of runBlock.lines.slice(1)) {
      const pattern = shown.trim()
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\\\.\\\.\\\./g, '\\S*')
        .replace(/\d+/g, '\\d+')
      await waitFor(() => new RegExp(pattern).test(output), { what: `log line like "${shown.trim()}"` })
    }
    const listening = output.match(/Listening on (\S+\/p2p\/\S+)/)[1]

    const commands = [...shellCommands, ...inlineCommands.filter(c => !shellCommands.includes(c))]
    let ran = 0
    for (const command of commands) {
      if (NOT_RUN.some(([re]) => re.test(command))) continue
      let line
      if (/^(mepassa-bootstrap|sqlite3) /.test(command)) {
        line = command.replace(/\/ip4\/\S+\/p2p\/12D3KooW\.\.\./, listening)
      } else {
        assert.fail(`README shows a command this test does not run: ${command}`)
      }
      const res = await sh(line, cwd)
      assert.equal(res.code, 0, `${line}\nexit ${res.code}\n${res.stdout}${res.stderr}`)
      ran++
    }
    assert.ok(ran >= 6, `ran ${ran} commands`)
  } finally {
    proc.kill('SIGTERM')
    const res = await Promise.race([exited, sleep(8000).then(() => null)])
    if (res === null) { proc.kill('SIGKILL'); await exited }
    rmSync(cwd, { recursive: true, force: true })
  }
})

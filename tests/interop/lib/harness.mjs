// Test harness: starts the real mepassa-bootstrap binary on loopback with a
// fresh data dir, and creates js-libp2p nodes to talk to it. Everything is
// bounded in time and cleaned up by the tests.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

export const BINARY = process.env.MP_BINARY ?? resolve(import.meta.dirname, '../../../build/mepassa-bootstrap')
export const BAD_PEER = process.env.MP_BAD_PEER ?? resolve(import.meta.dirname, '../../../build/tests/tools/mp-bad-peer')

export function tempDir (prefix = 'mp-interop-') {
  return mkdtempSync(join(tmpdir(), prefix))
}

export const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))

// Polls fn() until it returns a truthy value or the time runs out.
export async function waitFor (fn, { timeout = 10000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(interval)
  }
}

// Starts our node. Resolves once it has logged its peer id, its listen
// addresses and its HTTP port. With netns, it runs inside that network
// namespace (`ip netns exec`, which execs: signals reach our node).
export async function startBootstrap ({ env = {}, args = [], dataDir, keepDataDir = false, cwd, netns } = {}) {
  const dir = dataDir ?? tempDir()
  const fullEnv = {
    PATH: process.env.PATH,
    DATA_DIR: dir,
    HEALTH_PORT: '0',
    HEALTH_BIND: '127.0.0.1',
    ALLOW_PRIVATE_ADDRS: 'true',
    LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0',
    RUST_LOG: 'debug',
    ...env
  }
  const [cmd, cmdArgs] = netns ? ['ip', ['netns', 'exec', netns, BINARY, ...args]] : [BINARY, args]
  const proc = spawn(cmd, cmdArgs, { env: fullEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const onData = (d) => {
    output += d.toString()
    if (process.env.MP_SHOW_LOGS) process.stderr.write(d)
  }
  proc.stdout.on('data', onData)
  proc.stderr.on('data', onData)
  const exited = new Promise(resolve => proc.on('exit', (code, signal) => resolve({ code, signal })))

  const node = {
    proc,
    dataDir: dir,
    exited,
    logs: () => output,
    async waitForLog (re, timeout = 10000) {
      return waitFor(() => output.match(re), { timeout, what: `log ${re}` })
    },
    async stop (signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      const res = await Promise.race([exited, sleep(8000).then(() => null)])
      if (res === null) { proc.kill('SIGKILL'); await exited }
      if (!keepDataDir && !dataDir) rmSync(dir, { recursive: true, force: true })
      return res
    }
  }
  const started = await Promise.race([
    waitFor(() => /Listening on (\S+\/p2p\/\S+)/.test(output) && /HTTP server listening on [\d.:[\]]+:(\d+)/.test(output),
      { timeout: 15000, what: 'node start' }).then(() => true),
    exited.then((r) => { throw new Error(`node exited early (${JSON.stringify(r)}):\n${output}`) })
  ])
  if (!started) throw new Error('node did not start')
  node.addrs = [...output.matchAll(/Listening on (\S+\/p2p\/\S+)/g)].map(m => m[1])
  node.peerId = output.match(/Local peer id: (\S+)/)[1]
  node.httpPort = Number(output.match(/HTTP server listening on [\d.:[\]]+:(\d+)/)[1])
  node.multiaddr = multiaddr(node.addrs[0])
  return node
}

// A js-libp2p node with the same stack as a MePassa client (TCP, Noise,
// Yamux, Identify, Ping) plus whatever services a test adds.
export async function createJsNode ({ privateKey, services = {}, listen = true, config = {} } = {}) {
  return createLibp2p({
    ...(privateKey ? { privateKey } : {}),
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping(), ...services },
    ...config
  })
}

// Reads all of a js stream into one Uint8Array.
export async function readAll (stream) {
  const chunks = []
  for await (const chunk of stream) chunks.push(chunk.subarray ? chunk.subarray() : chunk)
  return Buffer.concat(chunks.map(c => Buffer.from(c)))
}

// A loopback TCP port nobody listens on (bound, then released).
export async function closedPort () {
  const srv = createServer()
  await new Promise(resolve => srv.listen(0, '127.0.0.1', resolve))
  const port = srv.address().port
  await new Promise(resolve => srv.close(resolve))
  return port
}

export async function httpGet (port, path) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, text: await res.text(), headers: res.headers }
}

// Runs the binary once (a subcommand such as `peers stats`) and resolves
// with its exit code and its stdout and stderr together; killed after `timeout` ms.
export function runBinary (args, env, timeout = 15000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BINARY, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.on('data', d => { out += d })
    proc.stderr.on('data', d => { out += d })
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`timed out:\n${out}`)) }, timeout)
    proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }) })
  })
}

// The node identity as a process sees it: two first starts racing on one
// empty DATA_DIR (the DATA_DIR lock comes before the key, and a key is never
// replaced), and the identity.key mode rule (as ssh: no access for group or
// others).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { BINARY, startBootstrap, tempDir, waitFor } from '../lib/harness.mjs'

// Starts the binary without waiting; resolves with its exit or its Peer ID.
function startRaw (dir) {
  const proc = spawn(BINARY, [], {
    env: { PATH: process.env.PATH, DATA_DIR: dir, HEALTH_PORT: '0', HEALTH_BIND: '127.0.0.1', LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0', RUST_LOG: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  proc.stdout.on('data', d => { output += d })
  proc.stderr.on('data', d => { output += d })
  const exited = new Promise(resolve => proc.on('exit', (code, signal) => resolve({ code, signal })))
  return { proc, exited, output: () => output }
}

test('20 trials of two first starts on one empty DATA_DIR: the survivor runs with the key in identity.key', async () => {
  for (let trial = 0; trial < 20; trial++) {
    const dir = tempDir()
    const a = startRaw(dir)
    const b = startRaw(dir)
    try {
      // One takes the lock and runs; the other exits naming the lock.
      const outcome = (r) => Promise.race([
        r.exited.then(() => 'exited'),
        waitFor(() => /HTTP server listening/.test(r.output()), { timeout: 15000, what: 'start' }).then(() => 'running')
      ])
      const [oa, ob] = await Promise.all([outcome(a), outcome(b)])
      assert.deepEqual([oa, ob].sort(), ['exited', 'running'], `trial ${trial}:\n${a.output()}\n${b.output()}`)
      const [winner, loser] = oa === 'running' ? [a, b] : [b, a]
      assert.match(loser.output(), /already running on data dir/)
      const peerId = winner.output().match(/Local peer id: (\S+)/)[1]
      const key = privateKeyFromProtobuf(readFileSync(join(dir, 'identity.key')))
      assert.equal(peerIdFromPrivateKey(key).toString(), peerId, `trial ${trial}`)
      winner.proc.kill('SIGTERM')
      assert.equal((await winner.exited).code, 0)
    } finally {
      for (const r of [a, b]) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL')
      await Promise.all([a.exited, b.exited])
      rmSync(dir, { recursive: true, force: true })
    }
  }
})

test('an identity.key readable by group or others is refused with the chmod to run, exit 2', async () => {
  const dir = tempDir()
  try {
    const first = await startBootstrap({ dataDir: dir })
    await first.stop()
    const path = join(dir, 'identity.key')
    const before = readFileSync(path)
    for (const mode of [0o644, 0o640, 0o666]) {
      chmodSync(path, mode)
      const r = startRaw(dir)
      // Bounded either way: a node that accepts the key starts serving.
      const outcome = await Promise.race([
        r.exited.then(({ code }) => code),
        waitFor(() => /HTTP server listening/.test(r.output()), { timeout: 15000, what: 'start' }).then(() => 'running')
      ])
      if (outcome === 'running') { r.proc.kill('SIGKILL'); await r.exited }
      assert.equal(outcome, 2, r.output())
      const lines = r.output().trim().split('\n').filter(l => l.includes('identity key'))
      assert.equal(lines.length, 1, r.output())
      assert.ok(lines[0].includes(`chmod 600 ${path}`), lines[0])
      assert.deepEqual(readFileSync(path), before)
    }
    chmodSync(path, 0o600)
    const again = await startBootstrap({ dataDir: dir })
    assert.equal(again.peerId, first.peerId)
    await again.stop()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

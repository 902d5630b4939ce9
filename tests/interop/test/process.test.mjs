// The node as a process: signals an operator sends (SIGHUP reloads the log
// level, SIGUSR1/SIGUSR2 log stats, SIGQUIT stops like SIGTERM; none of them
// loses queued peer-store writes).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBootstrap, createJsNode, tempDir, waitFor, httpGet } from '../lib/harness.mjs'

function storedPeerIds (dir) {
  const out = execFileSync('sqlite3', [join(dir, 'dht.db'), 'SELECT DISTINCT peer_id FROM dht_peers'],
    { encoding: 'utf8', timeout: 10000 }).trim()
  return new Set(out === '' ? [] : out.split('\n'))
}

async function health (node) {
  const res = await httpGet(node.httpPort, '/health')
  return { status: res.status, body: JSON.parse(res.text) }
}

test('SIGHUP, SIGUSR1 and SIGUSR2 leave the node serving; SIGTERM then keeps all 20 identified peers', async () => {
  const dir = tempDir()
  const node = await startBootstrap({ dataDir: dir })
  const peers = []
  try {
    for (let i = 0; i < 20; i++) {
      const js = await createJsNode()
      await js.dial(node.multiaddr)
      peers.push(js)
    }
    // Identify has been processed once every peer is in the routing table.
    await waitFor(async () => (await health(node)).body.routing_table_size === 20, { what: 'routing table 20' })

    for (const sig of ['SIGHUP', 'SIGUSR1', 'SIGUSR2']) {
      node.proc.kill(sig)
      await node.waitForLog(new RegExp(`Received ${sig}: `))
    }
    const usr1 = node.logs().match(/Received SIGUSR1: (.*)/)[1]
    assert.ok(Number(usr1.match(/(\d+) connections/)[1]) >= 20, usr1)
    assert.match(usr1, /routing table 20/)
    assert.match(usr1, /store queue \d+\/\d+/)
    assert.equal(node.proc.exitCode, null)
    assert.equal(node.proc.signalCode, null)
    // Still answering: a ping over an existing connection, and /health.
    assert.ok(await peers[0].services.ping.ping(node.multiaddr) >= 0)
    assert.equal((await health(node)).status, 200)

    const res = await node.stop('SIGTERM')
    assert.deepEqual(res, { code: 0, signal: null })
    const stored = storedPeerIds(dir)
    for (const js of peers) assert.ok(stored.has(js.peerId.toString()), `${js.peerId} not stored`)
  } finally {
    for (const p of peers) await p.stop()
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('SIGQUIT stops the node with the same flush as SIGTERM', async () => {
  const dir = tempDir()
  const node = await startBootstrap({ dataDir: dir })
  const js = await createJsNode()
  try {
    await js.dial(node.multiaddr)
    await waitFor(async () => (await health(node)).body.routing_table_size === 1, { what: 'routing table 1' })
    const res = await node.stop('SIGQUIT')
    assert.deepEqual(res, { code: 0, signal: null })
    assert.match(node.logs(), /Received SIGQUIT, shutting down/)
    assert.match(node.logs(), /Peer store flushed and closed/)
    assert.ok(storedPeerIds(dir).has(js.peerId.toString()))
  } finally {
    await js.stop()
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('SIGHUP re-reads the log level from .env: debug lines appear, then disappear', async () => {
  const cwd = tempDir()
  writeFileSync(join(cwd, '.env'), 'LOG_LEVEL=info\n')
  // RUST_LOG unset: the harness's default would win over .env at start.
  const node = await startBootstrap({ cwd, env: { RUST_LOG: undefined } })
  const peers = []
  // Connects a fresh js peer, then uses SIGUSR1's info line as a barrier:
  // every line logged for that connection is in the output before it.
  let barriers = 0
  async function connectAndBarrier () {
    const js = await createJsNode()
    peers.push(js)
    await js.dial(node.multiaddr)
    await waitFor(async () => (await health(node)).body.peer_count === peers.length, { what: 'peer connected' })
    node.proc.kill('SIGUSR1')
    barriers++
    await waitFor(() => node.logs().split('Received SIGUSR1').length - 1 === barriers, { what: 'SIGUSR1 line' })
    return js.peerId.toString()
  }
  const established = (id) => node.logs().includes(`established with ${id}`)
  try {
    const a = await connectAndBarrier()
    assert.ok(!established(a), 'info: no debug line')

    writeFileSync(join(cwd, '.env'), 'LOG_LEVEL=debug\n')
    node.proc.kill('SIGHUP')
    await node.waitForLog(/Received SIGHUP: log level debug \(from LOG_LEVEL \(\.env\), was info\)/)
    const b = await connectAndBarrier()
    assert.ok(established(b), 'debug: the connection is logged')

    writeFileSync(join(cwd, '.env'), 'RUST_LOG=info\n')
    node.proc.kill('SIGHUP')
    await node.waitForLog(/Received SIGHUP: log level info \(from RUST_LOG \(\.env\), was debug\)/)
    const c = await connectAndBarrier()
    assert.ok(!established(c), 'info again: no debug line')

    // A bad value keeps the level, and the node.
    writeFileSync(join(cwd, '.env'), 'RUST_LOG=loud\n')
    node.proc.kill('SIGHUP')
    await node.waitForLog(/Received SIGHUP: log level kept/)
    assert.equal((await health(node)).status, 200)
  } finally {
    for (const p of peers) await p.stop()
    await node.stop()
    rmSync(cwd, { recursive: true, force: true })
  }
})

test('/health storage counts follow committed writes within seconds, not maintenance rounds', async () => {
  const node = await startBootstrap()
  const peers = []
  try {
    for (let i = 0; i < 5; i++) {
      const js = await createJsNode()
      await js.dial(node.multiaddr)
      peers.push(js)
    }
    // STORAGE_MAINTENANCE_INTERVAL_SECS is 300 here: only the writer's own
    // refresh can bring these numbers up within the 10 s bound.
    const storage = await waitFor(async () => {
      const s = (await health(node)).body.storage
      return s.total_peers === 5 ? s : null
    }, { what: 'storage.total_peers 5' })
    assert.ok(storage.total_addresses >= 5)
    assert.equal(storage.stale_peers, 0)
  } finally {
    for (const p of peers) await p.stop()
    await node.stop()
  }
})

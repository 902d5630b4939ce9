// Operating the node: /health and /metrics over real HTTP while js-libp2p
// peers are connected, graceful shutdown, the probe command, configuration
// errors, and the node identity (PEER_ID_SEED compatibility, identity.key).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { statSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { createHash } from 'node:crypto'
import { generateKeyPairFromSeed, generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { startBootstrap, createJsNode, waitFor, httpGet, tempDir, BINARY } from '../lib/harness.mjs'

const run = promisify(execFile)

// Runs the binary and returns { code, stdout, stderr } without throwing.
async function runBinary (args, env = {}) {
  try {
    const { stdout, stderr } = await run(BINARY, args, { env: { PATH: process.env.PATH, ...env }, timeout: 45000 })
    return { code: 0, stdout, stderr }
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

function metricValue (text, name, labels = '') {
  const line = text.split('\n').find(l => l.startsWith(name + labels + ' '))
  return line === undefined ? undefined : Number(line.split(' ').pop())
}

// Sum of a family's series whose labels start with `labels` (e.g. every
// transport of direction="inbound").
function metricSum (text, name, labels) {
  let sum
  for (const l of text.split('\n')) {
    if (l.startsWith(name + '{' + labels)) sum = (sum ?? 0) + Number(l.split(' ').pop())
  }
  return sum
}

test('/health and /metrics reflect the connected js peers', async () => {
  const node = await startBootstrap()
  const peers = []
  try {
    for (let i = 0; i < 3; i++) {
      const js = await createJsNode()
      await js.services.ping.ping(node.multiaddr)
      peers.push(js)
    }
    const health = await waitFor(async () => {
      const res = await httpGet(node.httpPort, '/health')
      const body = JSON.parse(res.text)
      return res.status === 200 && body.peer_count === 3 ? body : null
    }, { what: 'peer_count 3' })
    assert.equal(health.status, 'OK')
    assert.equal(health.peer_id, node.peerId)
    assert.ok(health.uptime_seconds >= 0)
    assert.ok(health.listen_addrs.includes(node.addrs[0]))
    assert.match(health.version, /^\d+\.\d+\.\d+/)
    assert.equal(typeof health.storage.total_peers, 'number')
    assert.equal(typeof health.storage.total_addresses, 'number')
    assert.equal(typeof health.storage.stale_peers, 'number')
    // The three js peers listen on loopback and ALLOW_PRIVATE_ADDRS=true: all in the table.
    assert.equal(health.routing_table_size, 3)

    const metrics = await waitFor(async () => {
      const res = await httpGet(node.httpPort, '/metrics')
      return metricSum(res.text, 'mepassa_connections_current', 'direction="inbound",') === 3 ? res : null
    }, { what: 'connections gauge 3' })
    assert.match(metrics.headers.get('content-type'), /^text\/plain/)
    assert.ok(metricSum(metrics.text, 'mepassa_connections_opened_total', 'direction="inbound",') >= 3)
    assert.ok(metricValue(metrics.text, 'mepassa_bytes_received_total') > 0)
    assert.ok(metricValue(metrics.text, 'mepassa_bytes_sent_total') > 0)
    assert.equal(metricValue(metrics.text, 'mepassa_routing_table_size'), 3)
    assert.ok(metricValue(metrics.text, 'mepassa_process_resident_memory_bytes') > 0)
    assert.ok(metricValue(metrics.text, 'mepassa_process_open_fds') > 0)

    // One peer leaves: the numbers follow.
    await peers.pop().stop()
    await waitFor(async () => JSON.parse((await httpGet(node.httpPort, '/health')).text).peer_count === 2,
      { what: 'peer_count 2' })

    assert.equal((await httpGet(node.httpPort, '/nope')).status, 404)
    const post = await fetch(`http://127.0.0.1:${node.httpPort}/health`, { method: 'POST' })
    assert.equal(post.status, 405)
  } finally {
    for (const p of peers) await p.stop()
    await node.stop()
  }
})

test('SIGTERM: GoAway to peers, storage flushed, exit 0 within 5 s', async () => {
  const node = await startBootstrap()
  const js = await createJsNode()
  await js.services.ping.ping(node.multiaddr)
  await node.waitForLog(new RegExp(`identified ${js.peerId}`))
  const closed = new Promise(resolve => js.addEventListener('connection:close', resolve, { once: true }))
  const start = Date.now()
  const res = await node.stop('SIGTERM')
  const elapsed = Date.now() - start
  try {
    assert.deepEqual(res, { code: 0, signal: null })
    assert.ok(elapsed < 5000, `exited in ${elapsed} ms`)
    assert.match(node.logs(), /Peer store flushed and closed/)
    await Promise.race([closed, new Promise((resolve, reject) => setTimeout(() => reject(new Error('js peer not disconnected')), 5000))])
  } finally {
    await js.stop()
  }
})

test('a second signal exits at once', async () => {
  const node = await startBootstrap()
  // The node's signal handlers are installed once it answers SIGUSR1 (ignored
  // before that, so it is sent again until a stats line appears).
  await waitFor(() => {
    node.proc.kill('SIGUSR1')
    return /Received SIGUSR1: stats/.test(node.logs())
  }, { interval: 200, what: 'SIGUSR1 stats line' })
  // Two stop signals that both reach the node: the same signal sent twice
  // while the first is still pending is delivered once (POSIX), so the
  // second is SIGTERM, and both are queued while the process is stopped.
  // On SIGCONT the node takes SIGINT (graceful shutdown), then SIGTERM.
  node.proc.kill('SIGSTOP')
  node.proc.kill('SIGINT')
  node.proc.kill('SIGTERM')
  node.proc.kill('SIGCONT')
  const res = await node.exited
  assert.deepEqual(res, { code: 130, signal: null })
  assert.doesNotMatch(node.logs(), /Peer store flushed and closed/)
  rmSync(node.dataDir, { recursive: true, force: true })
})

test('probe succeeds against our node and reports what it learned', async () => {
  const node = await startBootstrap()
  try {
    const js = await createJsNode()
    await js.services.ping.ping(node.multiaddr)
    await node.waitForLog(new RegExp(`identified ${js.peerId}`))
    const r = await runBinary(['probe', node.addrs[0]])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, new RegExp(`connected: peer id ${node.peerId} verified`))
    assert.match(r.stdout, /identify: agent 'mepassa-bootstrap\/[^']+', protocol version '\/mepassa\/1.0.0'/)
    assert.match(r.stdout, /ok {3}ping: [\d.]+ ms/)
    // Our node knows the js peer and hands it out.
    assert.match(r.stdout, /find_node \(\/ipfs\/kad\/1.0.0\): 1 closer peers/)
    assert.ok(r.stdout.includes(js.peerId.toString()))
    await js.stop()
  } finally {
    await node.stop()
  }
})

test('probe succeeds against a js-libp2p node', async () => {
  const js = await createJsNode({ services: { dht: kadDHT({ clientMode: false, peerInfoMapper: passthroughMapper }) } })
  try {
    const addr = js.getMultiaddrs()[0].toString()
    const r = await runBinary(['probe', addr])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /identify: agent '[^']+'/)
    assert.match(r.stdout, /ok {3}find_node/)
  } finally {
    await js.stop()
  }
})

test('probe fails cleanly against a closed port and a wrong peer id', async () => {
  // A port that was free a moment ago.
  const srv = createServer()
  await new Promise(resolve => srv.listen(0, '127.0.0.1', resolve))
  const port = srv.address().port
  await new Promise(resolve => srv.close(resolve))
  const someone = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const closed = await runBinary(['probe', `/ip4/127.0.0.1/tcp/${port}/p2p/${someone}`])
  assert.equal(closed.code, 3)
  assert.match(closed.stdout, /FAIL dial: .*(refused|Connection refused)/i)

  const node = await startBootstrap()
  try {
    const wrong = node.addrs[0].replace(node.peerId, someone.toString())
    const r = await runBinary(['probe', wrong])
    assert.equal(r.code, 3)
    assert.match(r.stdout, /FAIL dial: .*does not match/)
    const missing = await runBinary(['probe', node.addrs[0].replace(`/p2p/${node.peerId}`, '')])
    assert.equal(missing.code, 2)
  } finally {
    await node.stop()
  }
})

test('a bad configuration value names the variable and exits 2', async () => {
  for (const [env, name] of [[{ BOOTSTRAP_PORT: 'abc' }, 'BOOTSTRAP_PORT'], [{ RELAY_ENABLED: 'maybe' }, 'RELAY_ENABLED'],
    [{ LISTEN_ADDRS: '/ip4/1.2.3/tcp/1' }, 'LISTEN_ADDRS'], [{ RUST_LOG: 'loud' }, 'RUST_LOG']]) {
    const r = await runBinary([], { DATA_DIR: tempDir(), ...env })
    assert.equal(r.code, 2, JSON.stringify(env))
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.ok(lines[0].includes(name), r.stderr)
  }
  const v = await runBinary(['--version'])
  assert.equal(v.code, 0)
  assert.match(v.stdout.trim(), /^mepassa-bootstrap \d+\.\d+\.\d+$/)
})

test('PEER_ID_SEED gives the Peer ID js-libp2p derives from sha256(seed)', async () => {
  const seed = 'mepassa-interop-seed'
  const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(createHash('sha256').update(seed).digest()))
  const expected = peerIdFromPrivateKey(key).toString()
  const node = await startBootstrap({ env: { PEER_ID_SEED: seed } })
  try {
    assert.equal(node.peerId, expected)
    assert.match(node.logs(), /PEER_ID_SEED is set/)
  } finally {
    await node.stop()
  }
})

test('without PEER_ID_SEED a random key is kept in DATA_DIR/identity.key (0600) across restarts', async () => {
  const dir = tempDir()
  const first = await startBootstrap({ dataDir: dir })
  await first.stop()
  const mode = statSync(join(dir, 'identity.key')).mode & 0o777
  assert.equal(mode, 0o600)
  const second = await startBootstrap({ dataDir: dir })
  await second.stop()
  assert.equal(second.peerId, first.peerId)
  const other = await startBootstrap()
  await other.stop()
  assert.notEqual(other.peerId, first.peerId)
  rmSync(dir, { recursive: true, force: true })
})

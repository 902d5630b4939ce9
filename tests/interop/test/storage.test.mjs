// The peer store end to end, with the real binary, real js-libp2p clients and
// the real sqlite3 command: the seed design's three tests (persistence across
// a restart, garbage collection, inspection), the warm start, the faults
// (corrupt file, second node on the same data dir, SIGTERM with writes
// pending), the `peers` subcommand, and what is (not) stored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { base58btc } from 'multiformats/bases/base58'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { BINARY, startBootstrap, createJsNode, tempDir, waitFor, readAll, httpGet, sleep } from '../lib/harness.mjs'
import { encodeVarint, readVarint, protobufFields } from '../lib/protobuf.mjs'

// --- helpers ---

// Runs the real sqlite3 command on DATA_DIR/dht.db.
function sqlite (dir, sql) {
  return execFileSync('sqlite3', [join(dir, 'dht.db')], { input: sql, encoding: 'utf8', timeout: 10000 }).trim()
}
function sqliteArg (dir, sql) {
  return execFileSync('sqlite3', [join(dir, 'dht.db'), sql], { encoding: 'utf8', timeout: 10000 }).trim()
}
const distinctPeers = (dir) => Number(sqliteArg(dir, 'SELECT COUNT(DISTINCT peer_id) FROM dht_peers'))
const rowsOf = (dir, peerId) =>
  sqliteArg(dir, `SELECT multiaddr FROM dht_peers WHERE peer_id = '${peerId}' ORDER BY multiaddr`)
    .split('\n').filter(Boolean)

// Runs the binary to completion (subcommands, or a node expected to refuse).
function runBinary (args, env, timeout = 15000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BINARY, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', d => { stdout += d })
    proc.stderr.on('data', d => { stderr += d })
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${args.join(' ')} timed out:\n${stdout}${stderr}`)) }, timeout)
    proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

// Sends one FIND_NODE by hand on /ipfs/kad/1.0.0 (libp2p/specs kad-dht:
// varint-length-prefixed Message{type = FIND_NODE (4), key}) and returns
// the closerPeers as { id (base58), addrs (text) }.
async function findNode (js, target, key) {
  const msg = Buffer.concat([Buffer.from([0x08, 4, 0x12, ...encodeVarint(key.length)]), Buffer.from(key)])
  const stream = await js.dialProtocol(target, '/ipfs/kad/1.0.0')
  stream.send(Buffer.concat([Buffer.from(encodeVarint(msg.length)), msg]))
  await stream.close()
  const data = await readAll(stream)
  const [len, offset] = readVarint(data, 0)
  assert.equal(data.length - offset, len, 'one whole response')
  const fields = protobufFields(data.subarray(offset, offset + len))
  assert.equal(fields.get(1)?.[0], 4, 'response type FIND_NODE')
  return (fields.get(8) ?? []).map((p) => {
    const pf = protobufFields(p)
    return {
      id: base58btc.baseEncode(pf.get(1)[0]),
      addrs: (pf.get(2) ?? []).map(a => multiaddr(a).toString())
    }
  })
}

// Connects `n` listening js clients to `node` and waits until our node has
// identified every one of them.
async function connectClients (node, n) {
  const clients = await Promise.all(Array.from({ length: n }, () => createJsNode()))
  await Promise.all(clients.map(c => c.dial(node.multiaddr)))
  for (const c of clients) await node.waitForLog(new RegExp(`identified ${c.peerId}`))
  return clients
}
const stopAll = (nodes) => Promise.all(nodes.map(n => n.stop()))

// --- the seed's test 1: persistence across restarts, plus the warm start ---

test('stored peers survive a restart and answer FIND_NODE before they reconnect; warm start keeps them once, removes them the second time', async () => {
  const dir = tempDir('mp-store-')
  let node
  const extra = []
  try {
    node = await startBootstrap({ dataDir: dir })
    const clients = await connectClients(node, 3)
    await waitFor(() => distinctPeers(dir) === 3, { timeout: 10000, what: '3 peers in dht.db' })
    const stored = new Map(clients.map(c => [c.peerId.toString(), c.getMultiaddrs().map(a => a.decapsulateCode(421).toString())]))
    await stopAll(clients)
    const exit = await node.stop()
    assert.deepEqual(exit, { code: 0, signal: null })
    assert.match(node.logs(), /Peer store flushed/)
    const rows = Number(sqliteArg(dir, 'SELECT COUNT(*) FROM dht_peers'))

    // Restart on the same DATA_DIR: the routing table starts warm.
    node = await startBootstrap({ dataDir: dir })
    const loaded = node.logs().match(/Loaded (\d+) peers with (\d+) addresses from storage/)
    assert.ok(loaded, node.logs())
    assert.equal(Number(loaded[1]), 3)
    assert.equal(Number(loaded[2]), rows)
    assert.match(node.logs(), /Routing table seeded with 3 stored peers/)
    // /health reports the store at once, not after the first maintenance run.
    const health = JSON.parse((await httpGet(node.httpPort, '/health')).text)
    assert.equal(health.storage.total_peers, 3)

    // A fresh client that only knows our node asks for peers, before the
    // warm start dials anyone (its first dial waits 5 s) and while every
    // stored peer is offline.
    const fresh = await createJsNode({ listen: false })
    extra.push(fresh)
    const key = fresh.peerId.toMultihash().bytes
    let closer = await findNode(fresh, node.multiaddr, key)
    assert.doesNotMatch(node.logs(), /Warm start finished/, 'answered before the warm start ran')
    for (const [id, addrs] of stored) {
      const p = closer.find(c => c.id === id)
      assert.ok(p, `stored peer ${id} in closerPeers: ${JSON.stringify(closer)}`)
      assert.deepEqual(p.addrs.sort(), [...addrs].sort())
    }

    // The warm start finds them all offline: they lose reputation but stay
    // in the table (a phone offline during a restart will be back).
    await node.waitForLog(/Warm start finished in \d+ ms: 3 stored peers, 0 reached, 0 already connected, 3 unreachable \(3 kept in the routing table, 0 removed\)/, 20000)
    closer = await findNode(fresh, node.multiaddr, key)
    for (const id of stored.keys()) assert.ok(closer.some(c => c.id === id), `${id} kept after one failed warm start`)
    await fresh.stop()
    extra.length = 0
    assert.deepEqual(await node.stop(), { code: 0, signal: null })
    const reps = sqliteArg(dir, `SELECT DISTINCT reputation FROM dht_peers WHERE peer_id IN (${[...stored.keys()].map(id => `'${id}'`).join(',')})`)
    assert.equal(Number(reps), 0.5, 'one failed warm start: 1.0 -> 0.5')

    // Unreachable at the next restart too: now they leave the routing table
    // (their rows stay until GC, for the operator and in case they return).
    node = await startBootstrap({ dataDir: dir })
    await node.waitForLog(/Warm start finished in \d+ ms: \d+ stored peers, 0 reached, 0 already connected, 3 unreachable \(0 kept in the routing table, 3 removed\)/, 20000)
    const fresh2 = await createJsNode({ listen: false })
    extra.push(fresh2)
    closer = await findNode(fresh2, node.multiaddr, fresh2.peerId.toMultihash().bytes)
    for (const id of stored.keys()) assert.ok(!closer.some(c => c.id === id), `${id} removed after two failed warm starts`)
    assert.equal(distinctPeers(dir) >= 3, true)
  } finally {
    await stopAll(extra)
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('warm start dials a stored peer that is back online and restores its reputation', async () => {
  const dir = tempDir('mp-store-')
  let node
  let js
  try {
    node = await startBootstrap({ dataDir: dir })
    js = await createJsNode()
    await js.dial(node.multiaddr)
    await waitFor(() => distinctPeers(dir) === 1, { what: 'js peer stored' })
    // Hang up (from both sides) and restart our node; the js peer stays online.
    await js.hangUp(multiaddr(node.addrs[0]))
    assert.deepEqual(await node.stop(), { code: 0, signal: null })
    node = await startBootstrap({ dataDir: dir })
    await node.waitForLog(/Warm start finished in \d+ ms: 1 stored peers, 1 reached, 0 already connected, 0 unreachable/, 20000)
    await node.waitForLog(new RegExp(`connection \\d+ established with ${js.peerId} \\(outbound`))
    const reps = sqliteArg(dir, `SELECT reputation FROM dht_peers WHERE peer_id = '${js.peerId}'`)
    assert.ok(reps.split('\n').every(r => Number(r) >= 1.0), reps)
  } finally {
    await js?.stop()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

// --- the seed's test 2: garbage collection ---

test('a 30-day-old row inserted with sqlite3 is collected at start', async () => {
  const dir = tempDir('mp-store-')
  let node
  try {
    node = await startBootstrap({ dataDir: dir })
    assert.deepEqual(await node.stop(), { code: 0, signal: null })
    // Exactly the seed's INSERT, with the node stopped.
    sqlite(dir, `INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen)
VALUES ('fake_peer', '/ip4/1.2.3.4/tcp/4001',
        strftime('%s', 'now', '-30 days'),
        strftime('%s', 'now', '-30 days'));
`)
    assert.equal(sqliteArg(dir, "SELECT COUNT(*) FROM dht_peers WHERE peer_id = 'fake_peer'"), '1')
    node = await startBootstrap({ dataDir: dir })
    assert.match(node.logs(), /Cleaned up 1 stale peer records \(older than 604800s\)/)
    assert.equal(sqliteArg(dir, "SELECT COUNT(*) FROM dht_peers WHERE peer_id = 'fake_peer'"), '0')
    assert.match(node.logs(), /Loaded 0 peers with 0 addresses from storage/)
  } finally {
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

// --- the seed's test 3: inspection, while the node runs ---

test('.schema and the seed inspection queries run verbatim with sqlite3 while the node runs', async () => {
  const dir = tempDir('mp-store-')
  let node
  let clients = []
  try {
    node = await startBootstrap({ dataDir: dir })
    clients = await connectClients(node, 2)
    await waitFor(() => distinctPeers(dir) === 2, { what: '2 peers in dht.db' })
    const ids = clients.map(c => c.peerId.toString())

    const schema = sqliteArg(dir, '.schema')
    assert.match(schema, /CREATE TABLE dht_peers \(\s*peer_id TEXT NOT NULL,\s*multiaddr TEXT NOT NULL,\s*first_seen INTEGER NOT NULL,\s*last_seen INTEGER NOT NULL/)
    assert.match(schema, /PRIMARY KEY \(peer_id, multiaddr\)/)
    assert.match(schema, /CREATE INDEX idx_last_seen ON dht_peers\(last_seen\)/)
    assert.match(schema, /reputation REAL/)

    const all = sqliteArg(dir, "SELECT peer_id, multiaddr, datetime(last_seen, 'unixepoch') FROM dht_peers")
    for (const c of clients) {
      for (const a of c.getMultiaddrs()) {
        assert.ok(all.includes(`${c.peerId}|${a.decapsulateCode(421).toString()}|`), `${a} in:\n${all}`)
      }
    }
    const perPeer = sqliteArg(dir, 'SELECT peer_id, COUNT(*) as addr_count FROM dht_peers GROUP BY peer_id')
    for (const c of clients) assert.match(perPeer, new RegExp(`${c.peerId}\\|${c.getMultiaddrs().length}`))

    const oldest = sqlite(dir, `SELECT peer_id, datetime(first_seen, 'unixepoch') as joined
FROM dht_peers
ORDER BY first_seen ASC
LIMIT 10;`)
    const active = sqlite(dir, `SELECT peer_id, datetime(last_seen, 'unixepoch') as last_active
FROM dht_peers
ORDER BY last_seen DESC
LIMIT 10;`)
    const ordered = sqlite(dir, `SELECT peer_id, multiaddr, datetime(last_seen, 'unixepoch')
FROM dht_peers
ORDER BY last_seen DESC;`)
    for (const out of [oldest, active, ordered]) {
      for (const id of ids) assert.ok(out.includes(id), out)
      assert.match(out, /\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/)
    }
    const ages = sqlite(dir, `SELECT
    CASE
        WHEN julianday('now') - julianday(last_seen, 'unixepoch') < 1 THEN 'last 24h'
        WHEN julianday('now') - julianday(last_seen, 'unixepoch') < 7 THEN 'last week'
        ELSE 'older'
    END as age_group,
    COUNT(*) as count
FROM dht_peers
GROUP BY age_group;`)
    const rows = Number(sqliteArg(dir, 'SELECT COUNT(*) FROM dht_peers'))
    assert.equal(ages, `last 24h|${rows}`)
    // The node kept serving through all of it.
    await clients[0].services.ping.ping(node.multiaddr)
  } finally {
    await stopAll(clients)
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

// --- faults ---

test('a corrupt dht.db is moved aside, logged loudly, and the node starts with a fresh store', async () => {
  const dir = tempDir('mp-store-')
  let node
  let js
  try {
    writeFileSync(join(dir, 'dht.db'), Buffer.alloc(8192, 'this is not an SQLite database, just garbage. '))
    node = await startBootstrap({ dataDir: dir })
    const m = node.logs().match(/ERROR .*is not a usable SQLite database.*Moved it to (\S+dht\.db\.corrupt-\d+) and started a fresh, EMPTY peer store/)
    assert.ok(m, node.logs())
    assert.ok(readdirSync(dir).some(f => /^dht\.db\.corrupt-\d+$/.test(f)), readdirSync(dir).join(' '))
    assert.match(node.logs(), /Loaded 0 peers with 0 addresses from storage/)
    // The fresh store works.
    js = await createJsNode()
    await js.dial(node.multiaddr)
    await waitFor(() => distinctPeers(dir) === 1, { what: 'js peer stored in the fresh dht.db' })
    assert.equal(sqliteArg(dir, 'PRAGMA integrity_check'), 'ok')
  } finally {
    await js?.stop()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a second node on the same DATA_DIR refuses to start; the first keeps serving', async () => {
  const dir = tempDir('mp-store-')
  let node
  let js
  try {
    node = await startBootstrap({ dataDir: dir })
    const second = await runBinary([], {
      DATA_DIR: dir, HEALTH_PORT: '0', HEALTH_BIND: '127.0.0.1', ALLOW_PRIVATE_ADDRS: 'true', LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0'
    })
    assert.notEqual(second.code, 0)
    assert.match(second.stdout + second.stderr, /another mepassa-bootstrap is already running on data dir .*\(pid \d+\)/)
    assert.doesNotMatch(second.stdout + second.stderr, /Listening on/)
    js = await createJsNode()
    await js.services.ping.ping(node.multiaddr)
    await waitFor(() => distinctPeers(dir) === 1, { what: 'first node still writes' })
  } finally {
    await js?.stop()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('SIGTERM right after identify loses no pending write', async () => {
  const dir = tempDir('mp-store-')
  let node
  let clients = []
  try {
    node = await startBootstrap({ dataDir: dir })
    clients = await connectClients(node, 12)
    // No waiting for the writer's 250 ms batch window.
    assert.deepEqual(await node.stop(), { code: 0, signal: null })
    assert.match(node.logs(), /Peer store flushed/)
    assert.equal(distinctPeers(dir), 12)
    for (const c of clients) {
      assert.deepEqual(rowsOf(dir, c.peerId.toString()), c.getMultiaddrs().map(a => a.decapsulateCode(421).toString()).sort())
    }
    // A clean stop leaves one self-contained file.
    assert.ok(!readdirSync(dir).includes('dht.db-wal'), readdirSync(dir).join(' '))
  } finally {
    await stopAll(clients)
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

// --- the peers subcommand against a running node ---

test('peers stats, list and gc work on the data dir of a running node', async () => {
  const dir = tempDir('mp-store-')
  let node
  let clients = []
  try {
    node = await startBootstrap({ dataDir: dir })
    clients = await connectClients(node, 3)
    await waitFor(() => distinctPeers(dir) === 3, { what: '3 peers in dht.db' })
    const rows = Number(sqliteArg(dir, 'SELECT COUNT(*) FROM dht_peers'))
    const env = { DATA_DIR: dir }

    const stats = await runBinary(['peers', 'stats'], env)
    assert.equal(stats.code, 0, stats.stderr)
    assert.match(stats.stdout, /total peers:\s+3\n/)
    assert.match(stats.stdout, new RegExp(`total addresses:\\s+${rows}\\n`))
    assert.match(stats.stdout, /stale peers:\s+0 /)

    const list = await runBinary(['peers', 'list'], env)
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, new RegExp(`\\(${rows} rows\\)`))
    for (const c of clients) assert.ok(list.stdout.includes(c.peerId.toString()))

    const gc = await runBinary(['peers', 'gc'], env)
    assert.equal(gc.code, 0, gc.stderr)
    assert.match(gc.stdout, /Cleaned up 0 stale peer records \(older than 604800s\)/)
    assert.equal(distinctPeers(dir), 3)
    // The node is unaffected.
    await clients[0].services.ping.ping(node.multiaddr)
  } finally {
    await stopAll(clients)
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

// --- what is stored ---

test('an inbound connection stores the identify listen addresses, never the ephemeral port', async () => {
  const dir = tempDir('mp-store-')
  let node
  let listening
  let dialOnly
  try {
    node = await startBootstrap({ dataDir: dir })
    listening = await createJsNode()
    dialOnly = await createJsNode({ listen: false })
    await listening.dial(node.multiaddr)
    await dialOnly.dial(node.multiaddr)
    for (const c of [listening, dialOnly]) await node.waitForLog(new RegExp(`identified ${c.peerId}`))
    await waitFor(() => distinctPeers(dir) === 1, { what: 'listening js peer stored' })
    // Give the writer two more batch windows: nothing else may appear.
    await sleep(600)
    const listenAddrs = listening.getMultiaddrs().map(a => a.decapsulateCode(421).toString()).sort()
    assert.deepEqual(rowsOf(dir, listening.peerId.toString()), listenAddrs)
    // Its socket address as our node saw it (the ephemeral port) is not stored.
    const seen = node.logs().match(new RegExp(`established with ${listening.peerId} \\(inbound, (\\S+?)\\)`))
    assert.ok(seen, node.logs())
    assert.ok(!listenAddrs.includes(seen[1]))
    assert.ok(!sqliteArg(dir, 'SELECT multiaddr FROM dht_peers').includes(seen[1]))
    // A client without listen addresses leaves no row at all.
    assert.deepEqual(rowsOf(dir, dialOnly.peerId.toString()), [])
  } finally {
    await listening?.stop()
    await dialOnly?.stop()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('KAD_INSERT=servers stores only peers that speak Kademlia (what the table admits after a restart)', async () => {
  const dir = tempDir('mp-store-')
  let node
  const js = []
  try {
    node = await startBootstrap({ dataDir: dir, env: { KAD_INSERT: 'servers' } })
    const plain = await createJsNode()
    js.push(plain)
    const server = await createJsNode({
      services: {
        dht: kadDHT({ clientMode: false, peerInfoMapper: passthroughMapper, initialQuerySelfInterval: 60_000, querySelfInterval: 600_000 })
      }
    })
    js.push(server)
    for (const c of js) await c.dial(node.multiaddr)
    for (const c of js) await node.waitForLog(new RegExp(`identified ${c.peerId}`))
    await waitFor(() => distinctPeers(dir) === 1, { what: 'the kad server stored' })
    await sleep(600) // two more batch windows: the plain peer must not appear
    assert.equal(distinctPeers(dir), 1)
    assert.ok(rowsOf(dir, server.peerId.toString()).length > 0)
    assert.deepEqual(rowsOf(dir, plain.peerId.toString()), [])
  } finally {
    await stopAll(js)
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('40 stored peers on unreachable addresses: FIND_NODE answers during the warm start, SIGTERM mid-way exits cleanly', async () => {
  const dir = tempDir('mp-store-')
  let node
  let fresh
  try {
    node = await startBootstrap({ dataDir: dir })
    assert.deepEqual(await node.stop(), { code: 0, signal: null })
    const ids = []
    const values = []
    for (let i = 0; i < 40; i++) {
      const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
      ids.push(id)
      // Half refuse at once (a closed port on loopback), half are TEST-NET
      // addresses that time out or are unreachable.
      const addr = i % 2 ? '/ip4/127.0.0.1/tcp/1' : `/ip4/192.0.2.${i + 1}/tcp/4001`
      values.push(`('${id}', '${addr}', strftime('%s', 'now'), strftime('%s', 'now'))`)
    }
    sqlite(dir, `INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES ${values.join(',\n')};`)
    node = await startBootstrap({ dataDir: dir })
    assert.match(node.logs(), /Loaded 40 peers with 40 addresses from storage/)
    await node.waitForLog(/Warm start: checking \d+ stored peers in the background/)
    fresh = await createJsNode({ listen: false })
    const closer = await findNode(fresh, node.multiaddr, fresh.peerId.toMultihash().bytes)
    assert.equal(closer.length, 20, 'k closest stored peers')
    for (const p of closer) assert.ok(ids.includes(p.id))
    // Let the first dials start, then stop the node while they are in flight.
    await sleep(5500)
    const exit = await node.stop()
    assert.deepEqual(exit, { code: 0, signal: null }, node.logs())
    assert.match(node.logs(), /Peer store flushed/)
    // Every stored row is still there (unreachable rows lose reputation, not their place).
    assert.equal(distinctPeers(dir), 40)
  } finally {
    await fresh?.stop()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

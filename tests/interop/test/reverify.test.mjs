// Periodic re-verification (issue 16) through the real binary, with a short
// REVERIFY_INTERVAL_SECS: rounds run (the ones due during the warm start are
// skipped and counted), a stored js-libp2p peer that hung up is dialed and
// reached again, an unreachable stored peer loses reputation round after
// round and leaves the routing table, and with two fleet members on one
// PostgreSQL database (lib/pg.mjs starts a real server) each dials only its
// XOR share, the two shares together covering every stored peer, and the
// share of a member killed with SIGKILL moves to the survivor.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { startBootstrap, waitFor, httpGet, closedPort, createJsNode } from '../lib/harness.mjs'
import { startPg } from '../lib/pg.mjs'

const INTERVAL = 2 // seconds; the warm start waits 5 s, so the first two rounds are skipped

async function health (node) {
  return JSON.parse((await httpGet(node.httpPort, '/health')).text)
}

// A first node migrates the schema and goes; then the test's rows are there
// for the nodes to load.
async function migrate (pg, env) {
  const migrator = await startBootstrap({ env })
  await migrator.stop()
  pg.psql('DELETE FROM bootstrap_nodes')
}

function storeRows (pg, rows) {
  const values = rows.map(([id, addr]) =>
    `('${id}', '${addr}', extract(epoch from now())::bigint, extract(epoch from now())::bigint)`)
  pg.psql(`INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES ${values.join(',')}`)
}

// The peers a node's rounds removed from its routing table, from its log.
function removedBy (node) {
  return new Set([...node.logs().matchAll(/Re-verification: (\S+) unreachable again \(reputation [\d.]+ -> floor\), removed/g)].map(m => m[1]))
}

async function unreachablePeers (n) {
  const port = await closedPort()
  const rows = []
  for (let i = 0; i < n; i++) {
    rows.push([peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(), `/ip4/127.0.0.1/tcp/${port}`])
  }
  return rows
}

test('rounds reach a peer that hung up and remove one that stays unreachable', async () => {
  const pg = startPg()
  const env = { DATABASE_URL: pg.url, REVERIFY_INTERVAL_SECS: String(INTERVAL), RUST_LOG: 'info' }
  const js = await createJsNode()
  let node
  try {
    await migrate(pg, env)
    const [[dead, deadAddr]] = await unreachablePeers(1)
    const jsAddr = js.getMultiaddrs()[0].toString().replace(/\/p2p\/.*$/, '')
    storeRows(pg, [[dead, deadAddr], [js.peerId.toString(), jsAddr]])

    node = await startBootstrap({ env })
    assert.equal((await health(node)).reverify.interval_secs, INTERVAL)
    // The warm start reaches the js peer and finds the other unreachable
    // (1.0 -> 0.5: kept).
    const warm = (await node.waitForLog(/Warm start finished[^\n]*/, 15000))[0]
    assert.match(warm, /2 stored peers, 1 reached, 0 already connected, 1 unreachable \(1 kept/, warm)
    const reputation = () => Number(pg.psql(`SELECT reputation FROM dht_peers WHERE peer_id = '${dead}'`))
    await waitFor(() => reputation() === 0.5, { timeout: 5000, what: 'the failure written (1.0 -> 0.5)' })

    // The js peer hangs up: a round one interval later dials it again.
    await js.hangUp(peerIdFromString(node.peerId))
    await waitFor(async () => (await health(node)).reverify.reached >= 1,
      { timeout: 15000, what: 're-verification reaching the js peer' })
    await waitFor(() => js.getConnections(peerIdFromString(node.peerId)).length > 0,
      { timeout: 5000, what: 'the node connected to the js peer again' })

    // The unreachable peer: 0.5 -> floor at its first round, out of the table.
    await node.waitForLog(new RegExp(`Re-verification: ${dead} unreachable again \\(reputation 0\\.5 -> floor\\), removed`), 15000)
    await waitFor(() => reputation() === 0, { timeout: 5000, what: 'the failure written (0.5 -> 0)' })
    const h = await health(node)
    assert.ok(h.reverify.removed >= 1 && h.reverify.unreachable >= 1, JSON.stringify(h.reverify))
    // Due while the warm start waited its 5 s: skipped, not run alongside it.
    assert.ok(h.reverify.rounds_skipped >= 1, JSON.stringify(h.reverify))
    assert.ok(h.reverify.rounds >= 1, JSON.stringify(h.reverify))
    // Its own failure, pulled back from the database, does not re-admit it.
    await waitFor(async () => (await health(node)).routing_table_size === 1,
      { timeout: 5000, what: 'only the js peer left in the routing table' })
    assert.match(node.logs(), /Re-verification round \d+ finished in \d+ ms: \d+ peers not seen within 2 s/)
    await waitFor(async () => /^mepassa_reverify_rounds_total [1-9]\d*$/m.test((await httpGet(node.httpPort, '/metrics')).text),
      { timeout: 5000, what: 'rounds on /metrics' })
    const metrics = (await httpGet(node.httpPort, '/metrics')).text
    assert.match(metrics, /^mepassa_reverify_peers_total\{outcome="reached"\} [1-9]\d*$/m)
    assert.match(metrics, /^mepassa_reverify_removed_total [1-9]\d*$/m)
  } finally {
    await node?.stop()
    await js.stop()
    pg.stop()
  }
})

test('two fleet members each re-verify only their share, together all of it; a killed member\'s share moves', async () => {
  const STORED = 24
  const pg = startPg()
  const env = {
    DATABASE_URL: pg.url,
    FLEET_HEARTBEAT_SECS: '1',
    FLEET_PULL_SECS: '1',
    REVERIFY_INTERVAL_SECS: String(INTERVAL),
    RUST_LOG: 'info'
  }
  const nodes = []
  try {
    await migrate(pg, env)
    const rows = await unreachablePeers(STORED)
    storeRows(pg, rows)
    const stored = rows.map(([id]) => id)
    for (let i = 0; i < 2; i++) nodes.push(await startBootstrap({ env }))
    for (const n of nodes) {
      await waitFor(async () => (await health(n)).fleet?.shard_members === 2,
        { timeout: 10000, what: 'two members sharing the dials' })
    }
    // Each member's first round: every stored peer is due (none ever seen),
    // its share dialed (unreachable: removed, 0.5 after the warm start), the
    // rest left to the other member.
    for (const n of nodes) {
      const line = (await n.waitForLog(/Re-verification round \d+ finished[^\n]*: [1-9]\d* peers not seen[^\n]*/, 20000))[0]
      const [, peers, unreachable, removed, skipped, others] =
        line.match(/: (\d+) peers not seen .* (\d+) unreachable \(\d+ kept in the routing table, (\d+) removed\), (\d+) skipped, (\d+) left to other/).map(Number)
      assert.equal(peers, STORED, line)
      assert.equal(unreachable + skipped + others, STORED, line)
      assert.ok(others > 0 && unreachable > 0, line)
      assert.equal(removed, unreachable, line)
    }
    // Together the shares cover every stored peer, each dialed by one member.
    let rv = []
    await waitFor(async () => {
      rv = (await Promise.all(nodes.map(health))).map(h => h.reverify)
      return rv[0].removed + rv[1].removed === STORED
    }, { timeout: 15000, what: 'every stored peer removed by one member' })
    assert.equal(rv[0].unreachable + rv[1].unreachable, STORED, JSON.stringify(rv))
    assert.ok(rv[0].removed > 0 && rv[1].removed > 0, JSON.stringify(rv))
    await waitFor(() => Number(pg.psql("SELECT count(*) FROM dht_peers WHERE reputation > 0 AND seen_by = ''")) === 0,
      { timeout: 5000, what: 'every stored peer at reputation 0 in the database' })
    // Each peer was removed by exactly one member.
    const [mine, theirs] = nodes.map(removedBy)
    assert.equal(mine.size + theirs.size, STORED)
    assert.deepEqual(new Set([...mine, ...theirs]), new Set(stored))

    // The second member is killed: once it is gone (3 heartbeats), its share
    // falls to the survivor, whose rounds dial and remove those peers too.
    nodes[1].proc.kill('SIGKILL')
    await nodes[1].exited
    await waitFor(() => stored.every(id => removedBy(nodes[0]).has(id)),
      { timeout: 20000, what: 'the killed member\'s share re-verified by the survivor' })
    assert.equal((await health(nodes[0])).fleet.shard_members, 1)
  } finally {
    await Promise.all(nodes.map(n => n.stop().catch(() => {})))
    pg.stop()
  }
})

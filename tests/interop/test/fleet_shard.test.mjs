// Fleet mode's sharding of the verification dials (issue 16): three of our
// nodes on one PostgreSQL database (lib/pg.mjs starts a real server) load
// the same stored peers; each warm-start dials only its XOR share
// (/health fleet.shard_peers), and when a member is killed with SIGKILL the
// survivors count it gone after 3 heartbeats and take its share.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { startBootstrap, waitFor, httpGet, closedPort } from '../lib/harness.mjs'
import { startPg } from '../lib/pg.mjs'

const STORED = 24 // few enough that every one fits the routing table's buckets

// A first node migrates the schema and goes; then `n` stored peers
// (unreachable: a closed port) are there for the nodes to load.
async function storePeers (pg, env, n) {
  const migrator = await startBootstrap({ env })
  await migrator.stop()
  pg.psql('DELETE FROM bootstrap_nodes')
  const port = await closedPort()
  const values = []
  for (let i = 0; i < n; i++) {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    values.push(`('${id}', '/ip4/127.0.0.1/tcp/${port}', extract(epoch from now())::bigint, extract(epoch from now())::bigint)`)
  }
  pg.psql(`INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES ${values.join(',')}`)
}

// /health has its fleet object from the first publish after the fleet started.
async function fleet (node) {
  return JSON.parse((await httpGet(node.httpPort, '/health')).text).fleet
}

test('a killed member\'s share of the verification dials moves to the survivors', async () => {
  const pg = startPg()
  const env = { DATABASE_URL: pg.url, FLEET_HEARTBEAT_SECS: '1', FLEET_PULL_SECS: '1', RUST_LOG: 'info' }
  const nodes = []
  try {
    await storePeers(pg, env, STORED)

    for (let i = 0; i < 3; i++) nodes.push(await startBootstrap({ env }))
    const [n1, n2, n3] = nodes
    for (const n of nodes) {
      await waitFor(async () => (await fleet(n))?.shard_members === 3,
        { timeout: 10000, what: 'three members sharing the dials' })
    }
    // Each warm start (5 s after its start) dials only its own share: the
    // rest is left to the other members. (The share is read from /health
    // afterwards, once every member sees the same three: a heartbeat late
    // under load can change it for a moment, so the line and the share are
    // not compared one to one.)
    for (const n of nodes) {
      const line = (await n.waitForLog(/Warm start finished[^\n]*/, 15000))[0]
      const [, peers, unreachable, skipped, others] =
        line.match(/: (\d+) stored peers, .* (\d+) unreachable .*, (\d+) skipped, (\d+) left to other fleet members/).map(Number)
      assert.equal(peers, STORED, line)
      assert.equal(unreachable + skipped + others, STORED, line)
      assert.ok(others > 0 && unreachable < STORED, line)
    }
    let shares = []
    await waitFor(async () => {
      const fs = await Promise.all(nodes.map(fleet))
      shares = fs.map(f => f.shard_peers)
      return fs.every(f => f.shard_members === 3) && shares[0] + shares[1] + shares[2] === STORED
    }, { timeout: 10000, what: 'three shares covering every stored peer' })

    n2.proc.kill('SIGKILL')
    await n2.exited
    let after = []
    await waitFor(async () => {
      after = [await fleet(n1), await fleet(n3)]
      return after.every(f => f.members_alive === 2 && f.shard_members === 2) &&
        after[0].shard_peers + after[1].shard_peers === STORED
    }, { timeout: 10000, what: 'the killed member counted gone and its share taken' })
    // The survivors keep their shares and split the dead member's between them.
    assert.ok(after[0].shard_peers >= shares[0] && after[1].shard_peers >= shares[2], JSON.stringify(after))
    assert.equal(after[0].shard_peers + after[1].shard_peers, STORED, JSON.stringify(after))
    // /metrics is published once a second, apart from /health.
    await waitFor(async () => new RegExp(`^mepassa_fleet_shard_peers ${after[0].shard_peers}$`, 'm')
      .test((await httpGet(n1.httpPort, '/metrics')).text), { timeout: 5000, what: 'the share on /metrics' })
  } finally {
    await Promise.all(nodes.map(n => n.stop().catch(() => {})))
    pg.stop()
  }
})

test('PostgreSQL down at start: the stored peers enter the routing table once it is back', async () => {
  const pg = startPg()
  const env = { DATABASE_URL: pg.url, RUST_LOG: 'info' }
  let node
  try {
    await storePeers(pg, env, 10)
    pg.stopServer()
    node = await startBootstrap({ env })
    const before = JSON.parse((await httpGet(node.httpPort, '/health')).text)
    assert.equal(before.routing_table_size, 0)
    pg.start()
    await node.waitForLog(/Stored peers loaded after the database came back/, 40000)
    await waitFor(async () => JSON.parse((await httpGet(node.httpPort, '/health')).text).routing_table_size >= 10,
      { timeout: 10000, what: 'the stored peers in the routing table' })
    assert.equal(node.logs().match(/Stored peers loaded after the database came back/g).length, 1)
    assert.match(node.logs(), /Routing table seeded with 10 stored peers/)
  } finally {
    await node?.stop()
    pg.stop()
  }
})

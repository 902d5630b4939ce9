// Fleet mode end to end (issue 16): three of our nodes on one PostgreSQL
// database (lib/pg.mjs starts a real server), real js-libp2p clients. A
// client connected only to node 1 is found by a client connected only to
// node 3: node 1 stores it, NOTIFY wakes node 3, node 3 pulls the row into
// its routing table and answers FIND_NODE with it. Also: the members see
// each other (/health fleet, /metrics).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { startBootstrap, createJsNode, waitFor, httpGet } from '../lib/harness.mjs'
import { startPg } from '../lib/pg.mjs'

async function kadClient (bootstrap) {
  const js = await createJsNode({
    services: { dht: kadDHT({ protocol: '/ipfs/kad/1.0.0', peerInfoMapper: passthroughMapper }) }
  })
  await js.dial(bootstrap.multiaddr)
  return js
}

async function health (node) {
  return JSON.parse((await httpGet(node.httpPort, '/health')).text)
}

async function collect (iterable) {
  const events = []
  for await (const e of iterable) events.push(e)
  return events
}

test('three nodes on one database: a client of node 1 is found through node 3', async () => {
  const pg = startPg()
  const env = { DATABASE_URL: pg.url, FLEET_HEARTBEAT_SECS: '1', FLEET_PULL_SECS: '1', RUST_LOG: 'info' }
  const nodes = []
  const clients = []
  try {
    // One after the other: node 1 migrates the schema, the others find it done.
    for (let i = 0; i < 3; i++) nodes.push(await startBootstrap({ env }))
    const [n1, , n3] = nodes
    await waitFor(async () => (await health(n3)).fleet?.members_alive === 3,
      { timeout: 10000, what: 'three alive members seen by node 3' })

    const a = await kadClient(n1)
    clients.push(a)
    const b = await kadClient(n3)
    clients.push(b)
    const aId = a.peerId.toString()
    await waitFor(() => Number(pg.psql(`SELECT COUNT(*) FROM dht_peers WHERE peer_id = '${aId}'`)) > 0,
      { timeout: 10000, what: 'client A stored by node 1' })
    assert.equal(pg.psql(`SELECT DISTINCT seen_by FROM dht_peers WHERE peer_id = '${aId}'`), n1.peerId)

    // Node 3 answers FIND_NODE(A) with A itself: it learned A from the table.
    const n3Id = n3.peerId
    let found = false
    await waitFor(async () => {
      const events = await collect(b.services.dht.findPeer(a.peerId, { useCache: false }))
      found = events.some(e => e.name === 'PEER_RESPONSE' && e.from.toString() === n3Id &&
        e.closer.some(p => p.id.equals(a.peerId)))
      return found
    }, { timeout: 10000, what: 'node 3 answering FIND_NODE with client A' })
    assert.ok(found)

    const h = await health(n3)
    assert.equal(h.fleet.members_alive, 3)
    assert.ok(h.fleet.pulled_peers >= 1, JSON.stringify(h.fleet))
    assert.ok(h.fleet.last_pull_ms > 0)
    const metrics = (await httpGet(n3.httpPort, '/metrics')).text
    assert.match(metrics, /^mepassa_fleet_members_alive 3$/m)
    assert.match(metrics, /^mepassa_fleet_pulled_peers_total [1-9]\d*$/m)
    assert.equal(Number(pg.psql('SELECT COUNT(*) FROM bootstrap_nodes')), 3)
  } finally {
    await Promise.all(clients.map(c => c.stop().catch(() => {})))
    await Promise.all(nodes.map(n => n.stop().catch(() => {})))
    pg.stop()
  }
})

// The PostgreSQL peer store end to end: the real binary with DATABASE_URL,
// real js-libp2p clients and a real PostgreSQL 15 server the test starts
// itself (lib/pg.mjs). Persistence across a restart, PostgreSQL down at
// start (the node serves, /health says DEGRADED, then recovers), the
// `peers` commands, and the password never reaching the log.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startBootstrap, createJsNode, tempDir, waitFor, httpGet, runBinary } from '../lib/harness.mjs'
import { startPg, PG_PASSWORD } from '../lib/pg.mjs'

test('with DATABASE_URL a peer that identified is stored in PostgreSQL and loaded from it after a restart', async () => {
  const pg = startPg()
  const dir = tempDir('mp-store-pg-')
  const env = { DATABASE_URL: pg.url }
  let node
  let client
  try {
    node = await startBootstrap({ dataDir: dir, env })
    client = await createJsNode()
    await client.dial(node.multiaddr)
    await node.waitForLog(new RegExp(`identified ${client.peerId}`))
    const id = client.peerId.toString()
    await waitFor(() => Number(pg.psql(`SELECT COUNT(*) FROM dht_peers WHERE peer_id = '${id}'`)) > 0,
      { timeout: 10000, what: 'the client in dht_peers' })
    assert.equal(pg.psql(`SELECT DISTINCT seen_by FROM dht_peers WHERE peer_id = '${id}'`), node.peerId)
    const rows = Number(pg.psql('SELECT COUNT(*) FROM dht_peers'))
    await client.stop()
    client = null
    assert.deepEqual(await node.stop(), { code: 0, signal: null })
    assert.doesNotMatch(node.logs(), new RegExp(PG_PASSWORD))
    assert.match(node.logs(), /postgres:\*\*\*@/)

    // Restart: the routing table is seeded from PostgreSQL (DATA_DIR has no dht.db).
    node = await startBootstrap({ dataDir: dir, env })
    const loaded = node.logs().match(/Loaded (\d+) peers with (\d+) addresses from storage/)
    assert.ok(loaded, node.logs())
    assert.equal(Number(loaded[1]), 1)
    assert.equal(Number(loaded[2]), rows)
    assert.match(node.logs(), /Routing table seeded with 1 stored peers/)
    const health = JSON.parse((await httpGet(node.httpPort, '/health')).text)
    assert.equal(health.storage.total_peers, 1)
    assert.deepEqual(await node.stop(), { code: 0, signal: null })
    node = null

    // The operator commands read the same table.
    const stats = await runBinary(['peers', 'stats'], { DATA_DIR: dir, ...env })
    assert.equal(stats.code, 0, stats.out)
    assert.match(stats.out, /total peers: +1\n/)
    assert.doesNotMatch(stats.out, new RegExp(PG_PASSWORD))
    const list = await runBinary(['peers', 'list'], { DATA_DIR: dir, ...env })
    assert.equal(list.code, 0, list.out)
    assert.match(list.out, new RegExp(id))
  } finally {
    await client?.stop()
    await node?.stop()
    pg.stop()
  }
})

test('PostgreSQL down at start: the node starts and serves, /health says DEGRADED, and it recovers when the server is back', async () => {
  const pg = startPg()
  pg.stopServer()
  let node
  let client
  try {
    node = await startBootstrap({ env: { DATABASE_URL: pg.url } })
    const degraded = await httpGet(node.httpPort, '/health')
    assert.match(degraded.text, /DEGRADED|degraded/, degraded.text)
    assert.doesNotMatch(node.logs(), new RegExp(PG_PASSWORD))
    // It serves: a client connects and is identified, its update queued.
    client = await createJsNode()
    await client.dial(node.multiaddr)
    await node.waitForLog(new RegExp(`identified ${client.peerId}`))
    pg.start()
    await node.waitForLog(/Reconnected to the peer store database/, 40000)
    const id = client.peerId.toString()
    await waitFor(() => Number(pg.psql(`SELECT COUNT(*) FROM dht_peers WHERE peer_id = '${id}'`)) > 0,
      { timeout: 10000, what: 'the queued update written after the outage' })
    await waitFor(async () => !/DEGRADED/.test((await httpGet(node.httpPort, '/health')).text),
      { timeout: 40000, what: '/health healthy again' })
  } finally {
    await client?.stop()
    await node?.stop()
    pg.stop()
  }
})

// Kademlia end to end against @libp2p/kad-dht: js nodes that know only our
// node find each other, providers and values travel through it, our own
// refresh lookups discover peers nobody told us about, bad input is refused
// without hurting other clients, and a private protocol id works.
//
// js kad-dht drops private addresses by default (removePrivateAddressesMapper);
// everything here runs on 127.0.0.1, so every js node uses passthroughMapper.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { startBootstrap, createJsNode, waitFor, httpGet, sleep } from '../lib/harness.mjs'

const KAD = '/ipfs/kad/1.0.0'

let node
before(async () => { node = await startBootstrap() })
after(async () => { await node?.stop() })

// A js node running kad-dht that dials only `bootstrap` (our node).
async function kadNode (bootstrap, { protocol = KAD, clientMode = false } = {}) {
  const js = await createJsNode({
    services: {
      dht: kadDHT({
        protocol,
        clientMode,
        peerInfoMapper: passthroughMapper
      })
    }
  })
  if (bootstrap) await js.dial(bootstrap.multiaddr)
  return js
}

async function stopAll (nodes) {
  await Promise.all(nodes.map(n => n.stop().catch(() => {})))
}

async function health (bootstrap) {
  const res = await httpGet(bootstrap.httpPort, '/health')
  return JSON.parse(res.text)
}

// Our node has the js node in its routing table, and the js node has us in
// its own (js adds a peer after identify shows it speaks the protocol).
async function waitUntilKnown (bootstrap, nodes, size) {
  await waitFor(async () => (await health(bootstrap)).routing_table_size >= size,
    { timeout: 15000, what: `routing table of ${size}` })
  for (const js of nodes) {
    await waitFor(() => js.services.dht.routingTable.size > 0,
      { timeout: 15000, what: 'our node in the js routing table' })
  }
}

async function collect (iterable) {
  const events = []
  for await (const e of iterable) events.push(e)
  return events
}

function sameAddrs (info, js) {
  const want = js.getMultiaddrs().map(a => a.decapsulateCode(421).toString())
  const got = info.multiaddrs.map(a => a.decapsulateCode(421).toString())
  return want.every(a => got.includes(a))
}

// The value of one sample line of a /metrics text (NaN when absent).
function metricValue (text, series) {
  const line = text.split('\n').find(l => l.startsWith(series + ' '))
  return line === undefined ? NaN : Number(line.split(' ').pop())
}

test('eight js nodes that know only our node find each other', async () => {
  const nodes = []
  try {
    for (let i = 0; i < 8; i++) nodes.push(await kadNode(node))
    await waitUntilKnown(node, nodes, 8)
    const ours = peerIdFromString(node.peerId)

    // findPeer of every other node, over the network (no local cache).
    for (let i = 0; i < nodes.length; i++) {
      const target = nodes[(i + 3) % nodes.length]
      const events = await collect(nodes[i].services.dht.findPeer(target.peerId, { useCache: false }))
      const final = events.find(e => e.name === 'FINAL_PEER')
      assert.ok(final, `node ${i} found node ${(i + 3) % nodes.length}`)
      assert.ok(final.peer.id.equals(target.peerId))
      assert.ok(sameAddrs(final.peer, target), `addresses of the found peer: ${final.peer.multiaddrs}`)
    }
    // The first hop of every lookup is our node: it answered.
    const events = await collect(nodes[0].services.dht.findPeer(nodes[5].peerId, { useCache: false }))
    assert.ok(events.some(e => e.name === 'PEER_RESPONSE' && e.from.equals(ours)))

    // getClosestPeers: every js node (and our node) is among the closest
    // peers to a random key, since the whole network is 9 peers.
    const key = (await import('node:crypto')).randomBytes(32)
    const closest = (await collect(nodes[2].services.dht.getClosestPeers(key)))
      .filter(e => e.name === 'FINAL_PEER').map(e => e.peer.id.toString())
    for (const [i, js] of nodes.entries()) {
      if (i === 2) continue
      assert.ok(closest.includes(js.peerId.toString()), `node ${i} among the closest: ${closest}`)
    }
    assert.ok(closest.includes(node.peerId), 'our node among the closest')

    // The answers our node wrote were timed (inbound latency): at least
    // the first hop of each of the nine lookups above. (The request
    // counters are published once a second, the histogram at once.)
    const text = await waitFor(async () => {
      const t = (await httpGet(node.httpPort, '/metrics')).text
      return metricValue(t, 'mepassa_kad_requests_total{type="find_node"}') >= 9 ? t : null
    }, { what: 'find_node requests on /metrics' })
    assert.ok(metricValue(text, 'mepassa_kad_request_duration_seconds_count') >= 9, text)
  } finally {
    await stopAll(nodes)
  }
})

test('a provider record put by one js node is found by another through our node', async () => {
  // Both js nodes are DHT clients: they serve nothing, so the record can
  // only live on our node.
  const a = await kadNode(node, { clientMode: true })
  const b = await kadNode(node, { clientMode: true })
  try {
    await waitUntilKnown(node, [a, b], 1)
    const cid = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode(`mepassa ${Date.now()}`)))
    await collect(a.services.dht.provide(cid))
    const events = await collect(b.services.dht.findProviders(cid))
    const found = events.filter(e => e.name === 'PROVIDER')
    assert.ok(found.length > 0, 'providers found')
    assert.ok(found.some(e => e.from.toString() === node.peerId), 'answered by our node')
    const provider = found.flatMap(e => e.providers).find(p => p.id.equals(a.peerId))
    assert.ok(provider, 'provider is the js node that provided')
    assert.ok(sameAddrs(provider, a), `provider addresses: ${provider.multiaddrs}`)
  } finally {
    await stopAll([a, b])
  }
})

test('a value put by one js node is read by another through our node', async () => {
  const a = await kadNode(node, { clientMode: true })
  const b = await kadNode(node, { clientMode: true })
  try {
    await waitUntilKnown(node, [a, b], 1)
    // A /pk/ record: the one namespace js validates without extra setup.
    const key = new Uint8Array([...new TextEncoder().encode('/pk/'), ...a.peerId.toMultihash().bytes])
    const value = publicKeyToProtobuf(a.peerId.publicKey)
    const putEvents = await collect(a.services.dht.put(key, value))
    assert.ok(putEvents.some(e => e.name === 'PEER_RESPONSE' && e.from.toString() === node.peerId),
      'our node accepted the PUT_VALUE')
    const got = (await collect(b.services.dht.get(key))).filter(e => e.name === 'VALUE')
    assert.ok(got.length > 0, 'value found')
    assert.ok(got.some(e => e.from.toString() === node.peerId), 'from our node')
    assert.deepEqual(Buffer.from(got[0].value), Buffer.from(value))
  } finally {
    await stopAll([a, b])
  }
})

test('our refresh lookups discover a js node that never contacted us', async () => {
  const own = await startBootstrap({ env: { KAD_REFRESH_INTERVAL_SECS: '2' } })
  const nodes = []
  try {
    const y = await kadNode(own)
    nodes.push(y)
    await waitUntilKnown(own, [y], 1)
    // x knows only y.
    const x = await kadNode(null)
    nodes.push(x)
    await x.dial(y.getMultiaddrs()[0])
    await waitFor(async () => (await health(own)).routing_table_size >= 2,
      { timeout: 20000, what: 'our routing table to learn x' })
    const ours = peerIdFromString(own.peerId)
    assert.ok(x.getConnections(ours).length > 0, 'our node dialled x')
    await own.waitForLog(/Kademlia refresh: \d+ peers in routing table, \d+ lookups found [1-9]\d* new peers/, 15000)
    // Our own lookups: counted, and their answered requests timed.
    const text = (await httpGet(own.httpPort, '/metrics')).text
    assert.ok(metricValue(text, 'mepassa_kad_lookups_total') >= 1, text)
    assert.ok(metricValue(text, 'mepassa_kad_refreshes_total') >= 1, text)
    assert.ok(metricValue(text, 'mepassa_kad_outbound_requests_total') >= 1, text)
    assert.ok(metricValue(text, 'mepassa_kad_outbound_request_duration_seconds_count') >= 1, text)
  } finally {
    await stopAll(nodes)
    await own.stop()
  }
})

test('BOOTSTRAP_PEERS: a second node of ours bootstraps from the first and learns its peers', async () => {
  const js = await kadNode(node)
  let second
  try {
    await waitUntilKnown(node, [js], 1)
    second = await startBootstrap({ env: { BOOTSTRAP_PEERS: node.addrs[0] } })
    await second.waitForLog(/Connected to bootstrap peer/)
    // The first self-lookup asks our first node, which names the js node.
    await waitFor(async () => (await health(second)).routing_table_size >= 2,
      { timeout: 20000, what: 'second node to learn the js node' })
    assert.ok(js.getConnections(peerIdFromString(second.peerId)).length > 0, 'second node dialled the js node')
    await second.waitForLog(/Kademlia refresh: \d+ peers in routing table, \d+ lookups found [1-9]\d* new peers/)
  } finally {
    await stopAll([js])
    await second?.stop()
  }
})

// --- hand-made kad messages for the bad-input test ---
function varint (n) {
  const out = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}
function field (num, bytes) { return [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes] }
function intField (num, v) { return [...varint(num << 3), ...varint(v)] }
function frame (body) { return new Uint8Array([...varint(body.length), ...body]) }

// Sends `bytes` on a fresh kad stream and reads until the stream ends.
async function rawExchange (js, bytes, { closeWrite = false } = {}) {
  const stream = await js.dialProtocol(node.multiaddr, KAD)
  let error = null
  const chunks = []
  try {
    stream.send(bytes)
    if (closeWrite) await stream.close()
    const reader = (async () => {
      for await (const c of stream) chunks.push(Buffer.from(c.subarray ? c.subarray() : c))
    })()
    await Promise.race([reader, sleep(5000).then(() => { throw new Error('no end of stream within 5 s') })])
  } catch (e) {
    error = e
  }
  return { data: Buffer.concat(chunks), error, status: stream.status }
}

test('bad kad input is refused, logged, and our node keeps answering', async () => {
  const client = await kadNode(node)
  const other = await kadNode(node)
  try {
    await waitUntilKnown(node, [client, other], 2)

    const malformed = await rawExchange(client, frame([0xff, 0xff, 0xff]))
    assert.equal(malformed.data.length, 0)
    await node.waitForLog(/kad: malformed message from \S+; closing stream/)

    const unknown = await rawExchange(client, frame([...intField(1, 9), ...field(2, [1, 2, 3])]))
    assert.equal(unknown.data.length, 0)
    await node.waitForLog(/kad: refused \S+ from \S+ \(unknown_type\); closing stream/)

    const oversized = await rawExchange(client, new Uint8Array([...varint(1 << 20), 1, 2, 3]))
    assert.equal(oversized.data.length, 0)
    await node.waitForLog(/kad: \S+ sent a 1048576-byte message \(limit \d+\); closing stream/)

    // ADD_PROVIDER naming `other` as the provider, sent by `client`.
    const cid = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode('not yours')))
    const mh = cid.multihash.bytes
    const peer = [...field(1, other.peerId.toMultihash().bytes),
      ...field(2, other.getMultiaddrs()[0].decapsulateCode(421).bytes)]
    await rawExchange(client, frame([...intField(1, 2), ...field(2, mh), ...field(9, peer)]), { closeWrite: true })
    await node.waitForLog(/kad: refused ADD_PROVIDER from \S+ \(provider_not_sender\)/)
    // GET_PROVIDERS for that key: nobody is listed.
    const answer = await rawExchange(client, frame([...intField(1, 3), ...field(2, mh)]), { closeWrite: true })
    assert.ok(answer.data.length > 0, 'GET_PROVIDERS answered')
    assert.ok(!hasProviderField(answer.data), 'no provider recorded for another peer')

    // Still serving: a normal lookup works.
    const events = await collect(client.services.dht.findPeer(other.peerId, { useCache: false }))
    assert.ok(events.some(e => e.name === 'FINAL_PEER' && e.peer.id.equals(other.peerId)))
  } finally {
    await stopAll([client, other])
  }
})

// Whether a length-prefixed kad Message has a providerPeers (field 9) entry.
function hasProviderField (data) {
  let i = 0
  const readVarint = () => {
    let v = 0; let shift = 0
    for (;;) {
      const b = data[i++]
      v += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return v
      shift += 7
    }
  }
  const len = readVarint()
  const end = i + len
  while (i < end) {
    const tag = readVarint()
    const wire = tag & 7
    if (tag >> 3 === 9) return true
    if (wire === 0) readVarint()
    else if (wire === 2) { const l = readVarint(); i += l } else return false
  }
  return false
}

test('KAD_PROTOCOL=/mepassa/kad/1.0.0 runs a private DHT', async () => {
  const proto = '/mepassa/kad/1.0.0'
  const priv = await startBootstrap({ env: { KAD_PROTOCOL: proto } })
  const nodes = []
  try {
    const a = await kadNode(priv, { protocol: proto })
    const b = await kadNode(priv, { protocol: proto })
    nodes.push(a, b)
    await waitUntilKnown(priv, [a, b], 2)
    const events = await collect(a.services.dht.findPeer(b.peerId, { useCache: false }))
    const final = events.find(e => e.name === 'FINAL_PEER')
    assert.ok(final && final.peer.id.equals(b.peerId))
    assert.ok(sameAddrs(final.peer, b))
    // The public protocol id is not served.
    await assert.rejects(a.dialProtocol(priv.multiaddr, KAD))
  } finally {
    await stopAll(nodes)
    await priv.stop()
  }
})

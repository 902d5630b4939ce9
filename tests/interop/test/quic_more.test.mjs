// QUIC v1, the rest of issues 14 and 15 against js-libp2p's QUIC transport
// (@chainsafe/libp2p-quic 2.1.1): our node dials a js QUIC peer named in
// BOOTSTRAP_PEERS (identify both ways, the peer in our routing table and
// handed out in FIND_NODE with its QUIC address); a relayed connection between
// a QUIC-only js peer and a TCP-only js peer through our relay; secp256k1 and
// RSA js identities over QUIC; AutoNAT v2 over QUIC (js's own client logic
// verifies its QUIC listen address through our node, the dial-back being a
// QUIC dial from our dial-back identity).
//
// Not here: an ECDSA js identity over QUIC. js's QUIC transport refuses to
// start with one ("Unsupported key type": its native part, Rust's
// libp2p-identity, is built without ECDSA), so no js peer can present it. Our
// check of ECDSA certificates is covered by tests/unit/tls.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { tcp } from '@libp2p/tcp'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { startBootstrap, createJsNode, waitFor, httpGet } from '../lib/harness.mjs'
import { verifyAddress } from '../lib/autonat.mjs'
import { quicNode, quicAddrOf } from '../lib/quic_client.mjs'

const QUIC_LISTEN = '/ip4/127.0.0.1/udp/0/quic-v1'
const DIAL_REQUEST = '/libp2p/autonat/2/dial-request'

let node
let quicAddr // ours, with /p2p/
let tcpAddr
before(async () => {
  node = await startBootstrap({ env: { LISTEN_ADDRS: `/ip4/127.0.0.1/tcp/0,${QUIC_LISTEN}` } })
  quicAddr = quicAddrOf(node)
  tcpAddr = multiaddr(node.addrs.find(a => a.includes('/tcp/')))
})
after(async () => { await node?.stop() })

const quicListenAddr = (js) =>
  js.getMultiaddrs().map(a => a.toString()).find(a => a.includes('/quic-v1')).replace(/\/p2p\/.*/, '')

async function metric (bootstrap, name, labels = '') {
  const { text } = await httpGet(bootstrap.httpPort, '/metrics')
  const line = text.split('\n').find(l => l.startsWith(`${name}${labels} `))
  return line ? Number(line.split(' ')[1]) : NaN
}

test('our node dials a js QUIC peer from BOOTSTRAP_PEERS, identifies it and hands it out in FIND_NODE', async () => {
  const js = await quicNode({
    listen: [QUIC_LISTEN],
    services: { dht: kadDHT({ clientMode: false, peerInfoMapper: passthroughMapper }) }
  })
  const jsAddr = js.getMultiaddrs().find(a => a.toString().includes('/quic-v1/')).toString()
  const ours = await startBootstrap({ env: { LISTEN_ADDRS: QUIC_LISTEN, BOOTSTRAP_PEERS: jsAddr } })
  const finder = await quicNode({ services: { dht: kadDHT({ clientMode: true, peerInfoMapper: passthroughMapper }) } })
  try {
    await ours.waitForLog(new RegExp(`connection \\d+ established with ${js.peerId} \\(outbound`))
    await ours.waitForLog(new RegExp(`identified ${js.peerId}: agent '[^']+'`))
    // js sees an inbound QUIC connection from our Peer ID and identifies us.
    const ourId = peerIdFromString(ours.peerId)
    const conn = await waitFor(() => js.getConnections(ourId)[0], { what: 'our connection at the js peer' })
    assert.equal(conn.direction, 'inbound')
    assert.match(conn.remoteAddr.toString(), /^\/ip4\/127\.0\.0\.1\/udp\/\d+\/quic-v1/)
    const peer = await waitFor(async () => {
      const p = await js.peerStore.get(ourId).catch(() => null)
      return p?.metadata?.get('AgentVersion') ? p : null
    }, { what: 'js identifies our node' })
    assert.match(new TextDecoder().decode(peer.metadata.get('AgentVersion')), /^mepassa-bootstrap\//)
    await waitFor(async () => JSON.parse((await httpGet(ours.httpPort, '/health')).text).routing_table_size >= 1,
      { what: 'the js peer in our routing table' })

    // Another QUIC client asks our node for the js peer: it is named, with its QUIC address.
    await finder.dial(quicAddrOf(ours))
    await waitFor(() => finder.services.dht.routingTable.size > 0, { what: 'our node in the finder routing table' })
    const events = []
    try {
      for await (const e of finder.services.dht.findPeer(js.peerId, { useCache: false, signal: AbortSignal.timeout(15000) })) {
        events.push(e)
      }
    } catch {
      // The responses are what counts.
    }
    const answer = events.find(e => e.name === 'PEER_RESPONSE' && e.from.toString() === ours.peerId)
    assert.ok(answer, `our node answered FIND_NODE: ${events.map(e => e.name)}`)
    const named = answer.closer.find(p => p.id.equals(js.peerId))
    assert.ok(named, 'the js peer is among the closer peers')
    assert.ok(named.multiaddrs.some(a => a.toString() === jsAddr.replace(/\/p2p\/.*/, '')),
      `its QUIC listen address: ${named.multiaddrs}`)
  } finally {
    await finder.stop()
    await ours.stop()
    await js.stop()
  }
})

test('a QUIC-only js peer reserves on our relay over QUIC; a TCP-only js peer pings it through us', async () => {
  const a = await quicNode({
    listen: [`${quicAddr}/p2p-circuit`],
    transports: [circuitRelayTransport()],
    secure: true
  })
  const b = await createJsNode({ listen: false, config: { transports: [tcp(), circuitRelayTransport()] } })
  try {
    await waitFor(() => a.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')),
      { timeout: 15000, what: 'circuit address on A' })
    await node.waitForLog(new RegExp(`relay: new reservation for ${a.peerId}`))
    const relayConn = a.getConnections(peerIdFromString(node.peerId))
    assert.equal(relayConn.length, 1)
    assert.match(relayConn[0].remoteAddr.toString(), /\/udp\/\d+\/quic-v1/, 'A reserved over QUIC')

    // B knows our TCP address only.
    const circuit = multiaddr(`${tcpAddr}/p2p-circuit/p2p/${a.peerId}`)
    const rtt = await b.services.ping.ping(circuit, { signal: AbortSignal.timeout(15000) })
    assert.ok(rtt >= 0)
    const conn = b.getConnections(a.peerId)[0]
    assert.ok(conn, 'B has a connection to A')
    assert.match(conn.remoteAddr.toString(), /\/tcp\/\d+\/p2p\/\w+\/p2p-circuit\//)
    await node.waitForLog(new RegExp(`relay: circuit ${b.peerId} -> ${a.peerId} open`))
    // A second ping on the same relayed connection: the circuit carries bytes both ways.
    assert.ok(await b.services.ping.ping(a.peerId, { signal: AbortSignal.timeout(15000) }) >= 0)
    assert.equal(b.getConnections(a.peerId).length, 1)
  } finally {
    await b.stop()
    await a.stop()
  }
})

for (const [type, bits] of [['secp256k1'], ['RSA', 2048]]) {
  test(`a js ${type} identity dials us over QUIC: ping, identify, the right Peer ID on our side`, async () => {
    const js = await quicNode({ privateKey: await generateKeyPair(type, bits) })
    try {
      assert.equal(js.peerId.type, type)
      assert.ok(await js.services.ping.ping(quicAddr) >= 0)
      const conn = js.getConnections(peerIdFromString(node.peerId))[0]
      assert.match(conn.remoteAddr.toString(), /\/udp\/\d+\/quic-v1/)
      await node.waitForLog(new RegExp(`connection \\d+ established with ${js.peerId} \\(inbound`))
      await node.waitForLog(new RegExp(`identified ${js.peerId}: agent`))
      await waitFor(async () => {
        const p = await js.peerStore.get(peerIdFromString(node.peerId)).catch(() => null)
        return p?.metadata?.get('AgentVersion')
      }, { what: `identify of our node by the ${type} peer` })
    } finally {
      await js.stop()
    }
  })
}

test('AutoNAT v2 over QUIC: js learns its QUIC listen address is reachable (its own client, our QUIC dial-back)', async () => {
  const js = await quicNode({ listen: [QUIC_LISTEN], services: { autoNAT: autoNATv2() } })
  try {
    const conn = await js.dial(quicAddr)
    await waitFor(async () => (await js.peerStore.get(conn.remotePeer)).protocols.includes(DIAL_REQUEST),
      { what: 'identify of our node' })
    const client = js.services.autoNAT.client
    const addr = quicListenAddr(js)
    // What getUnverifiedMultiaddrs would pick on a public host (js never asks
    // about loopback addresses); the request, nonce check and verdict are js's.
    const before = await metric(node, 'mepassa_autonat_v2_dial_backs_total', '{status="ok"}')
    const results = await verifyAddress({ client, conn }, addr, { timeout: 20000 })
    assert.equal(results.success, 1, 'the dial-back reached js over QUIC')
    assert.equal(results.result, true, 'js confirmed its QUIC address')
    assert.equal(await metric(node, 'mepassa_autonat_v2_dial_backs_total', '{status="ok"}'), before + 1)
    // The dial-back came on a connection of its own; ours is untouched.
    assert.equal(conn.status, 'open')
    assert.deepEqual(js.getConnections(peerIdFromString(node.peerId)).map(x => x.id), [conn.id])
    assert.ok(await js.services.ping.ping(peerIdFromString(node.peerId)) >= 0)
  } finally {
    await js.stop()
  }
})

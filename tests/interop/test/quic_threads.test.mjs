// QUIC connections on the network threads (NETWORK_THREADS=2): several js
// QUIC clients connect at once; each pings, identifies and runs FIND_NODE,
// and the node's debug log says which network thread each connection lives
// on: the inbound QUIC connections are spread over both.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { quic } from '@chainsafe/libp2p-quic'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString, peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { startBootstrap, createJsNode, waitFor, httpGet } from '../lib/harness.mjs'

let node
let quicAddr
before(async () => {
  node = await startBootstrap({
    env: { LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0/quic-v1', NETWORK_THREADS: '2' }
  })
  quicAddr = multiaddr(node.addrs.find(a => a.includes('/quic-v1/')))
})
after(async () => { await node?.stop() })

async function session (js) {
  const ours = peerIdFromString(node.peerId)
  const rtt = await js.services.ping.ping(quicAddr)
  assert.ok(rtt >= 0)
  // Identify: js learns our agent over the QUIC connection.
  await waitFor(async () => {
    const p = await js.peerStore.get(ours).catch(() => null)
    return p?.metadata?.get('AgentVersion') ? p : null
  }, { what: `identify of our node for ${js.peerId}` })
  // FIND_NODE of a random target: our node answers.
  await waitFor(() => js.services.dht.routingTable.size > 0, { what: 'our node in the js routing table' })
  const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const events = []
  try {
    for await (const e of js.services.dht.findPeer(target, { useCache: false })) events.push(e)
  } catch {
    // Not found: expected, the target does not exist. The responses count.
  }
  assert.ok(events.some(e => e.name === 'PEER_RESPONSE' && e.from.toString() === node.peerId),
    `our node answered FIND_NODE of ${js.peerId}: ${events.map(e => e.name)}`)
  assert.match(js.getConnections(ours)[0].remoteAddr.toString(), /\/udp\/\d+\/quic-v1/)
}

test('several js QUIC clients at once: each pings, identifies and runs FIND_NODE, on both network threads', async () => {
  const clients = await Promise.all(Array.from({ length: 4 }, () => createJsNode({
    listen: false,
    services: { dht: kadDHT({ clientMode: true, peerInfoMapper: passthroughMapper }) },
    config: { transports: [quic()], connectionEncrypters: [], streamMuxers: [] }
  })))
  try {
    await Promise.all(clients.map(session))
    const threads = new Set()
    for (const js of clients) {
      const m = await node.waitForLog(
        new RegExp(`quic connection \\d+ with ${js.peerId} lives on network thread (\\d+)`))
      threads.add(Number(m[1]))
    }
    assert.ok(threads.size >= 2, `QUIC connections on network threads ${[...threads]}`)
    // The datagrams of those on the second thread came through the main
    // thread's socket and were handed over.
    const { text } = await httpGet(node.httpPort, '/metrics')
    const m = text.match(/^mepassa_quic_datagrams_handed_over_total (\d+)$/m)
    assert.ok(m && Number(m[1]) > 0, `datagrams handed over: ${m?.[1]}`)
    // Our side identified each of them over QUIC.
    for (const js of clients) await node.waitForLog(new RegExp(`identified ${js.peerId}`))
  } finally {
    await Promise.all(clients.map(js => js.stop()))
  }
})

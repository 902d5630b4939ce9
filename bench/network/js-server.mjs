// The js-libp2p side of the comparison: a bootstrap server with the same
// protocols as mepassa-bootstrap (TCP, Noise, Yamux, Identify, Ping,
// Kademlia in server mode on /ipfs/kad/1.0.0), run as its own process so its
// RSS and CPU time can be read from /proc like ours.
//
// Run by run.mjs with an IPC channel: it sends {type:'ready', peerId, addr}
// and answers {cmd:'gc'} (full GC, for a fair RSS reading) and {cmd:'stats'}.
//
// With MP_JS_RELAY=1 (compare.mjs's relay mode) it also serves Circuit Relay
// v2 (@libp2p/circuit-relay-v2 circuitRelayServer) with its limits out of the
// way: no data or duration Limit per circuit, 100,000 reservations, hop and
// stop streams per connection raised.
//
// With MP_JS_QUIC=1 (compare.mjs's quic-* modes) it also listens on QUIC v1
// (@chainsafe/libp2p-quic, its defaults: 256 streams per connection) and
// the ready message carries that address as `quicAddr`.
import { libp2pLibs, OPEN_LIMITS, KAD } from './common.mjs'
import { load } from './deps.mjs'

const l = await libp2pLibs()
const relay = process.env.MP_JS_RELAY === '1'
  ? {
      relay: (await load('@libp2p/circuit-relay-v2')).circuitRelayServer({
        maxInboundHopStreams: 1024,
        maxOutboundStopStreams: 1024,
        reservations: { maxReservations: 100_000, applyDefaultLimit: false }
      })
    }
  : {}
const withQuic = process.env.MP_JS_QUIC === '1'
const quicTransports = withQuic ? [(await load('@chainsafe/libp2p-quic')).quic()] : []
const node = await l.createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0', ...(withQuic ? ['/ip4/127.0.0.1/udp/0/quic-v1'] : [])] },
  transports: [l.tcp(), ...quicTransports],
  connectionEncrypters: [l.noise()],
  streamMuxers: [l.yamux()],
  connectionManager: OPEN_LIMITS,
  services: {
    // Streams per protocol and connection raised too (the load generators
    // keep several requests in flight per connection).
    identify: l.identify({ maxInboundStreams: 64 }),
    // The default 10 s per inbound ping stream would end the ping phase.
    ping: l.ping({ timeout: 600_000, maxInboundStreams: 64 }),
    dht: l.kadDHT({
      protocol: KAD,
      clientMode: false,
      // Everything runs on 127.0.0.1; js drops private addresses by default
      // (ours is started with ALLOW_PRIVATE_ADDRS=true for the same reason).
      peerInfoMapper: l.passthroughMapper,
      maxInboundStreams: 256,
      maxOutboundStreams: 256
    }),
    ...relay
  }
})

process.on('message', async (m) => {
  if (m.cmd === 'gc') {
    globalThis.gc?.()
    process.send({ type: 'gc-done', gc: typeof globalThis.gc === 'function' })
  } else if (m.cmd === 'stats') {
    process.send({
      type: 'stats',
      connections: node.getConnections().length,
      routingTable: node.services.dht.routingTable.size
    })
  } else if (m.cmd === 'stop') {
    await node.stop()
    process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))

const addrs = node.getMultiaddrs().map(a => a.toString())
process.send({
  type: 'ready',
  peerId: node.peerId.toString(),
  addr: addrs.find(a => a.includes('/tcp/')),
  quicAddr: addrs.find(a => a.includes('/quic-v1'))
})

// js-libp2p QUIC clients for the QUIC interop tests (@chainsafe/libp2p-quic
// 2.1.1): a js node whose only transport is QUIC (identify and ping as every
// js node of the harness; Noise and Yamux only when relayed connections need
// them), one with a kad-dht client, a FIND_NODE lookup of a random target,
// our node started with a QUIC listener, and where it listens for QUIC.
import assert from 'node:assert/strict'
import { quic } from '@chainsafe/libp2p-quic'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createJsNode, startBootstrap, waitFor } from './harness.mjs'

// A js node whose only transport is QUIC (with `quicOptions`), plus whatever
// `transports` adds; listening on `listen`. Relayed connections are upgraded
// with Noise and Yamux (`secure`); QUIC needs neither.
export function quicNode ({ listen = [], services = {}, transports = [], privateKey, secure = false, quicOptions } = {}) {
  return createJsNode({
    privateKey,
    listen: false,
    services,
    config: {
      addresses: { listen },
      transports: [quic(quicOptions), ...transports],
      ...(secure ? {} : { connectionEncrypters: [], streamMuxers: [] })
    }
  })
}

// A QUIC js node with a kad-dht client.
export function quicKadClient (options = {}) {
  return quicNode({
    ...options,
    services: { dht: kadDHT({ clientMode: true, peerInfoMapper: passthroughMapper }), ...options.services }
  })
}

// FIND_NODE of a random target through `js`'s DHT, once our node is in its
// routing table; asserts that our node answered. The target does not exist:
// the lookup ends without it, the responses count.
export async function findNodeAnswered (js, node) {
  await waitFor(() => js.services.dht.routingTable.size > 0, { what: 'our node in the js routing table' })
  const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const events = []
  try {
    for await (const e of js.services.dht.findPeer(target, { useCache: false })) events.push(e)
  } catch {
    // Not found: expected.
  }
  assert.ok(events.some(e => e.name === 'PEER_RESPONSE' && e.from.toString() === node.peerId),
    `our node answered FIND_NODE of ${js.peerId}: ${events.map(e => e.name)}`)
  return events
}

// Our node's QUIC listen address (with its Peer ID), and its UDP port.
export function quicAddrOf (node) {
  const text = node.addrs.find(a => a.includes('/quic-v1/'))
  assert.ok(text, `a QUIC listen address is logged: ${node.addrs}`)
  return multiaddr(text)
}
export const udpPortOf = (addr) => Number(addr.toString().match(/\/udp\/(\d+)\//)[1])

// Our node started with `env` (LISTEN_ADDRS with a QUIC address), and its
// QUIC address.
export async function startQuicNode (env) {
  const node = await startBootstrap({ env })
  return { node, quicAddr: quicAddrOf(node) }
}

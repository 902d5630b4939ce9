// AutoNAT helpers for the interop tests.
//
// v1: js-libp2p's own v1 client skips private addresses, so the tests send
// the DIAL message themselves (dialMessage, askV1).
//
// v2: js-libp2p's AutoNAT v2 client run for one address of our choosing.
// js never asks about private addresses, and the tests run on loopback, so
// they hand its client the address (what getUnverifiedMultiaddrs would pick
// on a public host); the request, the dial data, the nonce check on the
// dial-back stream and the verdict are all js's own code.
import { peerSet } from '@libp2p/peer-collections'
import { multiaddr } from '@multiformats/multiaddr'
import assert from 'node:assert/strict'
import { readVarint, protobufFields, bytesField, intField, lengthPrefixed } from './protobuf.mjs'

export const AUTONAT_V1 = '/libp2p/autonat/1.0.0'

// A v1 DIAL message (length-prefixed) for `peerId` at `addrs`.
export function dialMessage (peerId, addrs) {
  const info = [...bytesField(1, peerId.toMultihash().bytes), ...addrs.flatMap(a => bytesField(2, multiaddr(a).bytes))]
  return lengthPrefixed([...intField(1, 0), ...bytesField(2, bytesField(1, info))])
}

// Sends `msg` on a new /libp2p/autonat/1.0.0 stream to `target` and returns
// the DIAL_RESPONSE: { status, text, addr }.
export async function askV1 (js, target, msg) {
  const stream = await js.dialProtocol(target, AUTONAT_V1)
  stream.send(msg)
  await stream.close()
  const chunks = []
  for await (const c of stream) chunks.push(Buffer.from(c.subarray ? c.subarray() : c))
  const data = Buffer.concat(chunks)
  const [len, off] = readVarint(data, 0)
  assert.equal(data.length, off + len)
  const m = protobufFields(data.subarray(off))
  assert.equal(m.get(1)[0], 1, 'DIAL_RESPONSE')
  const r = protobufFields(m.get(3)[0])
  return {
    status: r.get(1)?.[0] ?? 0,
    text: r.get(2) ? new TextDecoder().decode(r.get(2)[0]) : '',
    addr: r.get(3) ? multiaddr(r.get(3)[0]).toString() : null
  }
}

// Returns js's result record for `addr` (success, failure, result).
export async function verifyAddress ({ client, conn }, addr, { timeout = 30000 } = {}) {
  const results = {
    multiaddr: multiaddr(addr),
    success: 0,
    failure: 0,
    networkSegments: [],
    verifyingPeers: peerSet(),
    type: 'transport'
  }
  client.dialResults.set(addr, results)
  const nonce = BigInt(Math.floor(Math.random() * Number.MAX_SAFE_INTEGER))
  client.nonces.add(nonce)
  try {
    await client.askPeerToVerify(conn, client.getNetworkSegment(conn.remoteAddr), nonce,
      { signal: AbortSignal.timeout(timeout) })
  } finally {
    client.nonces.delete(nonce)
  }
  return results
}

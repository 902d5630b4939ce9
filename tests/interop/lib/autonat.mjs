// js-libp2p's AutoNAT v2 client run for one address of our choosing.
// js never asks about private addresses, and the tests run on loopback, so
// they hand its client the address (what getUnverifiedMultiaddrs would pick
// on a public host); the request, the dial data, the nonce check on the
// dial-back stream and the verdict are all js's own code.
import { peerSet } from '@libp2p/peer-collections'
import { multiaddr } from '@multiformats/multiaddr'

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

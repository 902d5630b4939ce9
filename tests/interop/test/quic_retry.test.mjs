// QUIC address validation against js-libp2p's QUIC transport
// (@chainsafe/libp2p-quic 2.1.1, issue 14): our node started with
// QUIC_RETRY=always answers the js peer's first Initial with a Retry; the
// js peer comes back with the token, completes the handshake, identifies
// our node and pings it; /metrics shows the Retry sent and the token
// accepted. A js peer that dials twice (quinn keeps NEW_TOKEN tokens) is
// retried only the first time: the second Initial carries our NEW_TOKEN
// token. A datagram of an unknown QUIC version of 1200 bytes gets a
// Version Negotiation packet listing QUIC v1.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { peerIdFromString } from '@libp2p/peer-id'
import { waitFor, httpGet } from '../lib/harness.mjs'
import { quicNode, startQuicNode } from '../lib/quic_client.mjs'

let node
let quicAddr
before(async () => {
  ({ node, quicAddr } = await startQuicNode({ LISTEN_ADDRS: '/ip4/127.0.0.1/udp/0/quic-v1', QUIC_RETRY: 'always' }))
})
after(async () => { await node?.stop() })

async function metric (name, label, value) {
  const { text } = await httpGet(node.httpPort, '/metrics')
  const m = text.match(new RegExp(`^${name}\\{${label}="${value}"\\} (\\d+)$`, 'm'))
  assert.ok(m, `${name}{${label}="${value}"} on /metrics`)
  return Number(m[1])
}

test('with QUIC_RETRY=always a js QUIC peer is retried once, then identifies and pings', async () => {
  const js = await quicNode()
  try {
    const rtt = await js.services.ping.ping(quicAddr)
    assert.ok(rtt >= 0)
    await waitFor(async () => {
      const p = await js.peerStore.get(peerIdFromString(node.peerId)).catch(() => null)
      return p?.metadata?.get('AgentVersion') ? p : null
    }, { what: 'identify of our node over QUIC after a Retry' })
    await node.waitForLog(new RegExp(`identified ${js.peerId.toString()}`))
    assert.equal(await metric('mepassa_quic_stateless_packets_sent_total', 'type', 'retry'), 1)
    assert.equal(await metric('mepassa_quic_retry_tokens_total', 'result', 'accepted'), 1)
    assert.equal(await metric('mepassa_quic_retry_tokens_total', 'result', 'refused'), 0)
  } finally {
    await js.stop()
  }
})

test('a js QUIC peer dialling again comes back with our NEW_TOKEN token and is not retried', async () => {
  const js = await quicNode()
  try {
    const retries = await metric('mepassa_quic_stateless_packets_sent_total', 'type', 'retry')
    await js.services.ping.ping(quicAddr)
    // Our NEW_TOKEN goes with HANDSHAKE_DONE, before any stream data: once
    // our node has identified the js peer, the js peer has the token.
    await node.waitForLog(new RegExp(`identified ${js.peerId.toString()}`))
    await js.hangUp(peerIdFromString(node.peerId))
    const rtt = await js.services.ping.ping(quicAddr)
    assert.ok(rtt >= 0)
    assert.equal(await metric('mepassa_quic_stateless_packets_sent_total', 'type', 'retry'), retries + 1)
    assert.equal(await metric('mepassa_quic_retry_tokens_total', 'result', 'new_token_accepted'), 1)
    assert.equal(await metric('mepassa_quic_retry_tokens_total', 'result', 'new_token_ignored'), 0)
  } finally {
    await js.stop()
  }
})

test('a 1200-byte datagram of an unknown QUIC version gets Version Negotiation listing v1', async () => {
  const sock = dgram.createSocket('udp4')
  try {
    await new Promise(resolve => sock.bind(0, '127.0.0.1', resolve))
    const port = Number(quicAddr.toString().match(/\/udp\/(\d+)\//)[1])
    const pkt = Buffer.alloc(1200)
    pkt.set([0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8], 0)
    pkt.fill(0x11, 6, 14)
    pkt[14] = 8
    pkt.fill(0x22, 15, 23)
    const answer = new Promise(resolve => sock.once('message', resolve))
    sock.send(pkt, port, '127.0.0.1')
    const vn = await answer
    assert.ok(vn.length <= pkt.length)
    assert.equal(vn[0] & 0x80, 0x80)
    assert.equal(vn.readUInt32BE(1), 0)  // Version Negotiation
    assert.deepEqual(vn.subarray(6, 14), Buffer.alloc(8, 0x22))  // our SCID as its DCID
    const versions = []
    for (let i = 23; i + 4 <= vn.length; i += 4) versions.push(vn.readUInt32BE(i))
    assert.ok(versions.includes(1), `QUIC v1 listed: ${versions}`)
    assert.equal(await metric('mepassa_quic_stateless_packets_sent_total', 'type', 'version_negotiation'), 1)
  } finally {
    sock.close()
  }
})

// QUIC v1 against js-libp2p's QUIC transport (@chainsafe/libp2p-quic): a js
// node dials our /udp/N/quic-v1 address, identifies (our QUIC listen address,
// a UDP observed address), pings and runs FIND_NODE; a wrong expected Peer ID
// fails the dial; junk datagrams are dropped and counted on /metrics (short
// headers for no connection of ours answered with a Stateless Reset) while
// the js peer keeps pinging.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString, peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { waitFor, readAll, httpGet } from '../lib/harness.mjs'
import { quicNode, quicKadClient, findNodeAnswered, startQuicNode, udpPortOf } from '../lib/quic_client.mjs'
import { readVarint, protobufFields } from '../lib/protobuf.mjs'

let node
let quicAddr
before(async () => {
  ({ node, quicAddr } = await startQuicNode({ LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0/quic-v1' }))
})
after(async () => { await node?.stop() })

async function dropped () {
  const { text } = await httpGet(node.httpPort, '/metrics')
  const out = {}
  for (const m of text.matchAll(/^mepassa_quic_datagrams_dropped_total\{reason="(\w+)"\} (\d+)$/gm)) {
    out[m[1]] = Number(m[2])
  }
  return out
}

// Short header datagrams for no connection of ours, answered with a
// Stateless Reset (the others are dropped as unknown_connection).
async function resets () {
  const { text } = await httpGet(node.httpPort, '/metrics')
  const m = text.match(/^mepassa_quic_stateless_packets_sent_total\{type="stateless_reset"\} (\d+)$/m)
  return m ? Number(m[1]) : 0
}

test('js-libp2p dials our node over QUIC, identifies and pings it', async () => {
  const js = await quicNode()
  try {
    const rtt = await js.services.ping.ping(quicAddr)
    assert.ok(rtt >= 0)
    const conn = js.getConnections(peerIdFromString(node.peerId))[0]
    assert.ok(conn, 'connection open')
    assert.match(conn.remoteAddr.toString(), /\/udp\/\d+\/quic-v1/)
    const peer = await waitFor(async () => {
      const p = await js.peerStore.get(peerIdFromString(node.peerId)).catch(() => null)
      return p?.metadata?.get('AgentVersion') ? p : null
    }, { what: 'identify of our node over QUIC' })
    const ours = quicAddr.decapsulateCode(421).toString()
    assert.ok(peer.addresses.some(a => a.multiaddr.toString() === ours),
      `our QUIC listen address ${ours} is advertised: ${peer.addresses.map(a => a.multiaddr)}`)
    // Our side saw a QUIC connection from the js peer and identified it.
    await node.waitForLog(new RegExp(`identified ${js.peerId.toString()}`))

    // Our Identify message read by hand: the observed address is UDP.
    const stream = await js.dialProtocol(quicAddr, '/ipfs/id/1.0.0')
    const data = await readAll(stream)
    const [len, offset] = readVarint(data, 0)
    assert.equal(data.length - offset, len)
    const fields = protobufFields(data.subarray(offset))
    assert.match(multiaddr(fields.get(4)[0]).toString(), /^\/ip4\/127\.0\.0\.1\/udp\/\d+\/quic-v1$/)
    const listen = fields.get(2).map(b => multiaddr(b).toString())
    assert.ok(listen.includes(ours))
  } finally {
    await js.stop()
  }
})

test('a js kad-dht client runs FIND_NODE against our node over QUIC', async () => {
  const js = await quicKadClient()
  try {
    await js.dial(quicAddr)
    await findNodeAnswered(js, node)
  } finally {
    await js.stop()
  }
})

test('a wrong expected Peer ID fails the QUIC dial', async () => {
  const js = await quicNode()
  try {
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const wrong = quicAddr.decapsulateCode(421).encapsulate(`/p2p/${other}`)
    await assert.rejects(js.dial(wrong, { signal: AbortSignal.timeout(10000) }))
    assert.equal(js.getConnections(peerIdFromString(node.peerId)).length, 0)
  } finally {
    await js.stop()
  }
})

test('junk datagrams and a truncated Initial are dropped and counted while a js peer keeps pinging', async () => {
  const js = await quicNode()
  const sock = dgram.createSocket('udp4')
  try {
    await js.services.ping.ping(quicAddr)
    const before = await dropped()
    const resetsBefore = await resets()
    const port = udpPortOf(quicAddr)
    const send = (buf) => new Promise((resolve, reject) =>
      sock.send(buf, port, '127.0.0.1', (err) => err ? reject(err) : resolve()))
    // Short-header packets for no connection of ours, and headerless bytes.
    for (let i = 0; i < 20; i++) {
      const b = randomBytes(40 + i * 10)
      b[0] = 0x40 | (b[0] & 0x3f)
      await send(b)
    }
    await send(Buffer.from([0x40]))
    // A QUIC v1 Initial header cut to 300 bytes (an Initial must fill 1200).
    const initial = Buffer.alloc(300)
    initial[0] = 0xc3
    initial.writeUInt32BE(1, 1)
    initial[5] = 8
    randomBytes(8).copy(initial, 6)
    initial[14] = 8
    randomBytes(8).copy(initial, 15)
    initial[23] = 0 // token length
    initial.writeUInt16BE(0x4000 | 1100, 24) // claims 1100 bytes of payload
    await send(initial)
    // A full-size Initial of random bytes: it cannot decrypt.
    const forged = Buffer.concat([initial.subarray(0, 26), randomBytes(1174)])
    await send(forged)

    const after = await waitFor(async () => {
      const d = await dropped()
      const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0)
      return sum(d) - sum(before) + (await resets()) - resetsBefore >= 23 ? d : null
    }, { what: 'drops and resets counted' })
    const reset = (await resets()) - resetsBefore
    assert.ok(after.unknown_connection - (before.unknown_connection ?? 0) + reset >= 20)
    assert.ok(after.malformed - (before.malformed ?? 0) >= 1)
    assert.ok(after.not_initial - (before.not_initial ?? 0) >= 2)
    // The js peer's connection is untouched.
    const rtt = await js.services.ping.ping(quicAddr)
    assert.ok(rtt >= 0)
  } finally {
    sock.close()
    await js.stop()
  }
})

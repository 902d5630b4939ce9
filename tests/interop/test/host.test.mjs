// The libp2p host against js-libp2p: Noise + Yamux connections both ways,
// ping, identify, concurrent streams, and several key types.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ping } from '@libp2p/ping'
import { startBootstrap, createJsNode, waitFor, readAll } from '../lib/harness.mjs'
import { readVarint, protobufFields } from '../lib/protobuf.mjs'

let node
before(async () => { node = await startBootstrap() })
after(async () => { await node?.stop() })

test('js-libp2p dials our node, pings it and reads its identify', async () => {
  const js = await createJsNode()
  try {
    const rtt = await js.services.ping.ping(node.multiaddr)
    assert.ok(rtt >= 0)
    const remote = peerIdFromString(node.peerId)
    const peer = await waitFor(async () => {
      const p = await js.peerStore.get(remote).catch(() => null)
      return p?.metadata?.get('AgentVersion') ? p : null
    }, { what: 'identify of our node' })
    const agent = new TextDecoder().decode(peer.metadata.get('AgentVersion'))
    const protocolVersion = new TextDecoder().decode(peer.metadata.get('ProtocolVersion'))
    assert.match(agent, /^mepassa-bootstrap\/\d+\.\d+\.\d+/)
    assert.equal(protocolVersion, '/mepassa/1.0.0')
    for (const p of ['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0']) {
      assert.ok(peer.protocols.includes(p), `protocol ${p} advertised: ${peer.protocols}`)
    }
    assert.ok(peer.addresses.some(a => a.multiaddr.toString() === node.multiaddr.decapsulateCode(421).toString()),
      'our listen address is advertised')
    assert.ok(js.getConnections(remote)[0], 'connection open')
    await node.waitForLog(new RegExp(`identified ${js.peerId.toString()}`))
  } finally {
    await js.stop()
  }
})

test('our identify reports the observed address of a js peer', async () => {
  const js = await createJsNode()
  try {
    // Let js-libp2p's own identify finish first (it allows one identify
    // stream per connection), then read our Identify message by hand:
    // varint length || protobuf.
    await js.dial(node.multiaddr)
    await waitFor(async () => {
      const p = await js.peerStore.get(peerIdFromString(node.peerId)).catch(() => null)
      return p?.metadata?.get('AgentVersion')
    }, { what: 'js identify done' })
    const stream = await js.dialProtocol(node.multiaddr, '/ipfs/id/1.0.0')
    const data = await readAll(stream)
    const [len, offset] = readVarint(data, 0)
    assert.equal(data.length - offset, len)
    const fields = protobufFields(data.subarray(offset))
    const observed = multiaddr(fields.get(4)[0]).toString()
    // The js side's socket: same IP and port as its end of the connection.
    const conn = js.getConnections(peerIdFromString(node.peerId))[0]
    assert.ok(conn)
    assert.match(observed, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/)
    assert.equal(new TextDecoder().decode(fields.get(5)[0]), '/mepassa/1.0.0')
    assert.match(new TextDecoder().decode(fields.get(6)[0]), /^mepassa-bootstrap\//)
    const listen = fields.get(2).map(b => multiaddr(b).toString())
    assert.ok(listen.includes(node.multiaddr.decapsulateCode(421).toString()))
  } finally {
    await js.stop()
  }
})

test('our node dials a js-libp2p node (BOOTSTRAP_PEERS), identifies and pings it', async () => {
  const js = await createJsNode()
  const jsAddr = js.getMultiaddrs()[0].toString()
  const ours = await startBootstrap({ env: { BOOTSTRAP_PEERS: jsAddr, PING_INTERVAL_SECS: '1' } })
  try {
    await ours.waitForLog(new RegExp(`connection \\d+ established with ${js.peerId} \\(outbound`))
    await ours.waitForLog(new RegExp(`identified ${js.peerId}: agent '[^']+'`))
    await ours.waitForLog(new RegExp(`ping ${js.peerId}: rtt`), 15000)
    const remote = peerIdFromString(ours.peerId)
    const peer = await waitFor(async () => {
      const p = await js.peerStore.get(remote).catch(() => null)
      return p?.metadata?.get('AgentVersion') ? p : null
    }, { what: 'js identifies our node' })
    assert.match(new TextDecoder().decode(peer.metadata.get('AgentVersion')), /^mepassa-bootstrap\//)
  } finally {
    await ours.stop()
    await js.stop()
  }
})

test('50 concurrent streams on one connection', async () => {
  // js-libp2p allows one outbound ping stream per connection by default.
  const js = await createJsNode({ services: { ping: ping({ maxOutboundStreams: 64 }) } })
  try {
    const conn = await js.dial(node.multiaddr)
    const rounds = 20
    const results = await Promise.all(Array.from({ length: 50 }, async (_, n) => {
      const stream = await conn.newStream('/ipfs/ping/1.0.0', { maxOutboundStreams: 64 })
      const payload = new Uint8Array(32 * rounds)
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + n) & 0xff
      stream.send(payload)
      await stream.close()
      const echoed = await readAll(stream)
      return Buffer.compare(Buffer.from(payload), echoed) === 0
    }))
    assert.equal(results.filter(Boolean).length, 50)
    assert.equal(conn.status, 'open')
  } finally {
    await js.stop()
  }
})

// (@libp2p/crypto cannot generate ECDSA identities; our unit tests cover them.)
for (const [type, bits] of [['Ed25519'], ['secp256k1'], ['RSA', 2048]]) {
  test(`a js peer with a ${type} identity is accepted and identified`, async () => {
    const privateKey = await generateKeyPair(type, bits)
    const js = await createJsNode({ privateKey })
    try {
      await js.services.ping.ping(node.multiaddr)
      await node.waitForLog(new RegExp(`identified ${js.peerId.toString()}`))
    } finally {
      await js.stop()
    }
  })
}

test('dialing our node with the wrong expected peer id fails the handshake', async () => {
  const js = await createJsNode()
  try {
    const other = await createJsNode({ listen: false })
    const wrong = node.multiaddr.decapsulateCode(421).encapsulate(`/p2p/${other.peerId}`)
    await other.stop()
    await assert.rejects(js.dial(wrong))
    // Our node keeps serving.
    await js.services.ping.ping(node.multiaddr)
  } finally {
    await js.stop()
  }
})

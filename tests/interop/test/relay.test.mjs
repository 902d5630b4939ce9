// Circuit Relay v2 (our node as the relay) against js-libp2p: reservations
// with a voucher js can verify, a relayed ping between two js nodes that only
// know our node, the DCUtR exchange over a relayed connection, the limits and
// every refusal status, and the circuit data cap / duration.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tcp } from '@libp2p/tcp'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { enable, disable } from '@libp2p/logger'
import { RecordEnvelope } from '@libp2p/peer-record'
import { peerIdFromString } from '@libp2p/peer-id'
import { startBootstrap, createJsNode, waitFor, httpGet, sleep } from '../lib/harness.mjs'

const HOP = '/libp2p/circuit/relay/0.2.0/hop'
const STOP = '/libp2p/circuit/relay/0.2.0/stop'
const Status = {
  OK: 100,
  RESERVATION_REFUSED: 200,
  RESOURCE_LIMIT_EXCEEDED: 201,
  PERMISSION_DENIED: 202,
  CONNECTION_FAILED: 203,
  NO_RESERVATION: 204,
  MALFORMED_MESSAGE: 400
}

// --- minimal protobuf / varint helpers (the messages are tiny) ---
function varint (n) {
  const out = []
  let v = BigInt(n)
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}
function readVarint (buf, i) {
  let v = 0n
  let shift = 0n
  for (;;) {
    const b = buf[i++]
    if (b === undefined) throw new Error('truncated varint')
    v |= BigInt(b & 0x7f) << shift
    if ((b & 0x80) === 0) return [v, i]
    shift += 7n
  }
}
// field number -> array of values (Uint8Array for length-delimited, BigInt for varints)
function fields (buf) {
  const out = new Map()
  let i = 0
  while (i < buf.length) {
    let key;
    [key, i] = readVarint(buf, i)
    const num = Number(key >> 3n)
    const wire = Number(key & 7n)
    let value
    if (wire === 0) {
      [value, i] = readVarint(buf, i)
    } else if (wire === 2) {
      let len;
      [len, i] = readVarint(buf, i)
      value = buf.subarray(i, i + Number(len))
      i += Number(len)
    } else throw new Error(`unexpected wire type ${wire}`)
    if (!out.has(num)) out.set(num, [])
    out.get(num).push(value)
  }
  return out
}
const bytesField = (num, bytes) => [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes]
const intField = (num, v) => [...varint(num << 3), ...varint(v)]
const frame = (body) => new Uint8Array([...varint(body.length), ...body])
const reserveMsg = () => frame(intField(1, 0))
const connectMsg = (peerId) => frame([...intField(1, 1), ...bytesField(2, bytesField(1, peerId.toMultihash().bytes))])

// Reads length-prefixed messages (and then raw bytes) from a js stream
// without ending it.
class Reader {
  constructor (stream) {
    this.it = stream[Symbol.asyncIterator]()
    this.buf = new Uint8Array(0)
    this.ended = false
  }

  async more () {
    const { value, done } = await this.it.next()
    if (done) { this.ended = true; return false }
    const chunk = value.subarray ? value.subarray() : value
    const b = new Uint8Array(this.buf.length + chunk.length)
    b.set(this.buf)
    b.set(chunk, this.buf.length)
    this.buf = b
    return true
  }

  async message () {
    for (;;) {
      try {
        const [len, off] = readVarint(this.buf, 0)
        if (this.buf.length >= off + Number(len)) {
          const m = this.buf.subarray(off, off + Number(len))
          this.buf = this.buf.subarray(off + Number(len))
          return m
        }
      } catch {}
      if (!await this.more()) throw new Error('stream ended before a full message')
    }
  }

  // Everything until EOF or reset: { bytes, reset }.
  async rest () {
    let total = this.buf.length
    this.buf = new Uint8Array(0)
    try {
      for (;;) {
        const { value, done } = await this.it.next()
        if (done) return { bytes: total, reset: false }
        total += value.byteLength
      }
    } catch {
      return { bytes: total, reset: true }
    }
  }
}

async function hopExchange (conn, msg) {
  const stream = await conn.newStream(HOP)
  stream.send(msg)
  const reader = new Reader(stream)
  const reply = fields(await reader.message())
  return { stream, reader, reply, status: Number(reply.get(5)?.[0] ?? -1) }
}

async function metric (node, name) {
  const { text } = await httpGet(node.httpPort, '/metrics')
  const re = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm')
  let sum = 0
  for (const m of text.matchAll(re)) sum += Number(m[2])
  return sum
}

const relayNode = (extra = {}) => createJsNode({
  ...extra,
  config: { transports: [tcp(), circuitRelayTransport()], ...(extra.config ?? {}) }
})

// Our relay, js node A listening through it (reserved), js node B that only
// knows the relay; resolves once A has its circuit address.
async function circuitPair (env = {}) {
  const relay = await startBootstrap({ env })
  const relayAddr = relay.multiaddr.toString()
  const a = await relayNode({
    config: { addresses: { listen: ['/ip4/127.0.0.1/tcp/0', `${relayAddr}/p2p-circuit`] } }
  })
  const b = await relayNode({ listen: false })
  const stop = async () => {
    await b.stop()
    await a.stop()
    await relay.stop()
  }
  try {
    const circuitAddr = await waitFor(() => a.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')),
      { timeout: 15000, what: 'circuit address on A' })
    return { relay, relayAddr, a, b, circuitAddr, stop }
  } catch (e) {
    await stop()
    throw e
  }
}

test('js reserves on our relay, listens on /p2p-circuit, and a second js node pings it through us', async () => {
  const { relay, relayAddr, a, b, circuitAddr, stop } = await circuitPair()
  try {
    assert.ok(circuitAddr.toString().startsWith(`${relayAddr}/p2p-circuit/p2p/${a.peerId}`), circuitAddr.toString())
    await relay.waitForLog(new RegExp(`relay: new reservation for ${a.peerId}`))

    // B knows only our node: the circuit address goes through it.
    const rtt = await b.services.ping.ping(circuitAddr)
    assert.ok(rtt >= 0)
    const conn = b.getConnections(a.peerId)[0]
    assert.ok(conn, 'B has a connection to A')
    assert.match(conn.remoteAddr.toString(), /\/p2p-circuit\//)
    assert.ok(conn.limits, 'relayed connection carries the relay limits')
    await relay.waitForLog(new RegExp(`relay: circuit ${b.peerId} -> ${a.peerId} open`))
    const rtt2 = await b.services.ping.ping(circuitAddr)
    assert.ok(rtt2 >= 0)
    await waitFor(async () => await metric(relay, 'mepassa_relay_circuit_bytes_total') > 0,
      { timeout: 5000, what: 'relayed bytes in /metrics' })
    await waitFor(async () => (await metric(relay, 'mepassa_relay_reservations_current')) === 1,
      { what: 'one reservation in /metrics' })
  } finally {
    await stop()
  }
})

test('DCUtR runs over a relayed connection through our relay, and the connection survives it', async () => {
  const relay = await startBootstrap()
  const relayAddr = relay.multiaddr.toString()
  // Record js-libp2p's dcutr debug lines.
  const lines = []
  const origWrite = process.stderr.write.bind(process.stderr)
  process.stderr.write = (chunk, ...rest) => {
    const s = chunk.toString()
    if (s.includes('libp2p:dcutr')) { lines.push(s); return true }
    return origWrite(chunk, ...rest)
  }
  enable('libp2p:dcutr*')
  const a = await relayNode({
    services: { dcutr: dcutr() },
    config: { addresses: { listen: ['/ip4/127.0.0.1/tcp/0', `${relayAddr}/p2p-circuit`] } }
  })
  const b = await relayNode({ services: { dcutr: dcutr() } })
  try {
    const circuitAddr = await waitFor(() => a.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')),
      { timeout: 15000, what: 'circuit address on A' })
    await b.dial(circuitAddr)
    // A (the inbound side of the relayed connection) opens /libp2p/dcutr and
    // sends CONNECT; B answers with CONNECT. Both messages cross our relay.
    await waitFor(() => lines.some(l => /B receiving connect/.test(l)), { timeout: 15000, what: 'DCUtR CONNECT sent' })
    await waitFor(() => lines.some(l => /had no dialable multiaddrs|did not have any dialable multiaddrs|sending sync|DCUtR to .* succeeded/.test(l)),
      { timeout: 15000, what: "A's CONNECT answer read back through the relay" }).catch((e) => { if (process.env.MP_SHOW_DCUTR) origWrite(lines.join("")); throw e })
    // On loopback js-libp2p refuses to hole-punch private addresses, so the
    // relayed connection must still be there and usable.
    const conn = b.getConnections(a.peerId).find(c => /p2p-circuit/.test(c.remoteAddr.toString()))
    assert.ok(conn, 'relayed connection still open after the DCUtR exchange')
    const rtt = await b.services.ping.ping(a.peerId)
    assert.ok(rtt >= 0)
    await waitFor(async () => await metric(relay, 'mepassa_relay_circuit_bytes_total') > 0,
      { timeout: 5000, what: 'relayed bytes in /metrics' })
  } finally {
    disable()
    process.stderr.write = origWrite
    await b.stop()
    await a.stop()
    await relay.stop()
  }
})

test('reservation voucher is a signed envelope js-libp2p accepts; renewals keep one slot', async () => {
  const relay = await startBootstrap()
  const c = await createJsNode({ listen: false })
  try {
    const conn = await c.dial(relay.multiaddr)
    const { reply, status } = await hopExchange(conn, reserveMsg())
    assert.equal(status, Status.OK)
    const rsv = fields(reply.get(3)[0])
    const expire = Number(rsv.get(1)[0])
    const now = Date.now() / 1000
    assert.ok(expire > now + 3500 && expire < now + 3700, `expiry one hour ahead: ${expire}`)
    const addrs = rsv.get(2).map(b => b)
    assert.ok(addrs.length >= 1)
    const voucher = rsv.get(3)[0]
    const env = await RecordEnvelope.openAndCertify(voucher, 'libp2p-relay-rsvp')
    assert.deepEqual([...env.payloadType], [0x03, 0x02])
    assert.equal(env.publicKey.toString(), peerIdFromString(relay.peerId).publicKey.toString())
    const v = fields(env.payload)
    assert.deepEqual([...v.get(1)[0]], [...peerIdFromString(relay.peerId).toMultihash().bytes])
    assert.deepEqual([...v.get(2)[0]], [...c.peerId.toMultihash().bytes])
    assert.equal(Number(v.get(3)[0]), expire)
    const limit = fields(reply.get(4)[0])
    assert.equal(Number(limit.get(1)[0]), 120)
    assert.equal(Number(limit.get(2)[0]), 1000000)
    // Tampered voucher: js rejects it.
    const bad = new Uint8Array(voucher)
    bad[bad.length - 1] ^= 1
    await assert.rejects(RecordEnvelope.openAndCertify(bad, 'libp2p-relay-rsvp'))

    const again = await hopExchange(conn, reserveMsg())
    assert.equal(again.status, Status.OK)
    await relay.waitForLog(new RegExp(`relay: renewed reservation for ${c.peerId}`))
    assert.equal(await waitFor(async () => (await metric(relay, 'mepassa_relay_reservations_current')) || null), 1)
  } finally {
    await c.stop()
    await relay.stop()
  }
})

test('limits and bad input get the spec status codes', async () => {
  const relay = await startBootstrap({ env: { RELAY_MAX_CIRCUITS: '2', RELAY_MAX_PER_PEER: '1' } })
  const nodes = []
  const make = async () => { const n = await createJsNode({ listen: false }); nodes.push(n); return n }
  try {
    const t1 = await make()
    const t2 = await make()
    const t3 = await make()
    const c1 = await t1.dial(relay.multiaddr)
    const c2 = await t2.dial(relay.multiaddr)
    const c3 = await t3.dial(relay.multiaddr)
    assert.equal((await hopExchange(c1, reserveMsg())).status, Status.OK)
    assert.equal((await hopExchange(c2, reserveMsg())).status, Status.OK)
    // Cap of 2 reservations reached.
    assert.equal((await hopExchange(c3, reserveMsg())).status, Status.RESERVATION_REFUSED)

    // Malformed: not a protobuf / missing the required type / CONNECT without peer.
    assert.equal((await hopExchange(c3, frame([0xff, 0xff, 0xff]))).status, Status.MALFORMED_MESSAGE)
    assert.equal((await hopExchange(c3, frame([]))).status, Status.MALFORMED_MESSAGE)
    assert.equal((await hopExchange(c3, frame(intField(1, 1)))).status, Status.MALFORMED_MESSAGE)
    // CONNECT to a peer without a reservation.
    assert.equal((await hopExchange(c3, connectMsg((await make()).peerId))).status, Status.NO_RESERVATION)
    // CONNECT to the relay itself.
    assert.equal((await hopExchange(c3, connectMsg(peerIdFromString(relay.peerId)))).status, Status.PERMISSION_DENIED)

    // t1 accepts stop streams and keeps them open; t3 opens a circuit to t1
    // (per-peer circuit cap 1), a second one is over the limit.
    const held = []
    await t1.handle(STOP, async (stream) => {
      const r = new Reader(stream)
      await r.message()
      stream.send(frame([...intField(1, 1), ...intField(4, Status.OK)]))
      held.push(stream)
    }, { runOnLimitedConnection: true })
    const first = await hopExchange(c3, connectMsg(t1.peerId))
    assert.equal(first.status, Status.OK)
    const second = await hopExchange(c3, connectMsg(t1.peerId))
    assert.equal(second.status, Status.RESOURCE_LIMIT_EXCEEDED)
    // The refusals cost nothing: t1 and t2 still hold their slots, one circuit runs.
    await waitFor(async () => (await metric(relay, 'mepassa_relay_reservations_current')) === 2, { what: 'two slots' })
    await waitFor(async () => (await metric(relay, 'mepassa_relay_circuits_current')) === 1, { what: 'one circuit' })
    const { text } = await httpGet(relay.httpPort, '/metrics')
    assert.match(text, /mepassa_relay_refusals_total\{reason="no_reservation"\} 1/)
    assert.match(text, /mepassa_relay_refusals_total\{reason="malformed_message"\} 3/)
    assert.match(text, /mepassa_relay_refusals_total\{reason="reservation_refused"\} 1/)
    first.stream.abort(new Error('done'))
    for (const s of held) s.abort(new Error('done'))
    await waitFor(async () => (await metric(relay, 'mepassa_relay_circuits_current')) === 0, { what: 'circuit released' })
  } finally {
    for (const n of nodes) await n.stop()
    await relay.stop()
  }
})

// Every js peer here comes from 127.0.0.1, one IP in one /24: the per-IP and
// per-network caps each refuse the second reservation when set to 1, and
// /metrics says which limit did.
for (const [env, limit] of [[{ RELAY_MAX_PER_IP: '1' }, 'ip'], [{ RELAY_MAX_PER_SUBNET: '1' }, 'subnet']]) {
  test(`RELAY_MAX_PER_${limit.toUpperCase()}=1 refuses a second reservation from the same ${limit}`, async () => {
    const relay = await startBootstrap({ env })
    const nodes = []
    try {
      for (let i = 0; i < 3; i++) nodes.push(await createJsNode({ listen: false }))
      const conns = await Promise.all(nodes.map(n => n.dial(relay.multiaddr)))
      assert.equal((await hopExchange(conns[0], reserveMsg())).status, Status.OK)
      assert.equal((await hopExchange(conns[1], reserveMsg())).status, Status.RESERVATION_REFUSED)
      assert.equal((await hopExchange(conns[2], reserveMsg())).status, Status.RESERVATION_REFUSED)
      const { text } = await httpGet(relay.httpPort, '/metrics')
      assert.match(text, new RegExp(`mepassa_relay_limit_refusals_total\\{kind="reservation",limit="${limit}"\\} 2`))
      assert.match(text, /mepassa_relay_limit_refusals_total\{kind="reservation",limit="total"\} 0/)
      // The refused peers cost the holder nothing: its slot stays.
      await waitFor(async () => (await metric(relay, 'mepassa_relay_reservations_current')) === 1, { what: 'one slot held' })
      // The slot frees when its holder leaves.
      await nodes[0].stop()
      await waitFor(async () => (await metric(relay, 'mepassa_relay_reservations_current')) === 0, { what: 'slot freed' })
      assert.equal((await hopExchange(conns[1], reserveMsg())).status, Status.OK)
    } finally {
      for (const n of nodes) await n.stop()
      await relay.stop()
    }
  })
}

// Peers from several loopback addresses (all of 127.0.0.0/8 reaches lo): the
// per-IP limit holds one host to RELAY_MAX_PER_IP slots while its neighbour
// in the same /24 still gets one, until the /24 is full (RELAY_MAX_PER_SUBNET);
// another /24 is not affected. Reservations first, then circuits (counted by
// the initiator's address), each refusal on /metrics by the limit that hit.
test('RELAY_MAX_PER_IP and RELAY_MAX_PER_SUBNET count each source address and /24', async () => {
  const relay = await startBootstrap({ env: { RELAY_MAX_PER_IP: '2', RELAY_MAX_PER_SUBNET: '3' } })
  const nodes = []
  const from = async (ip) => {
    const n = await createJsNode({ listen: false, config: { transports: [tcp({ dialOpts: { localAddress: ip } })] } })
    nodes.push(n)
    return { node: n, conn: await n.dial(relay.multiaddr) }
  }
  const reserve = async (p) => (await hopExchange(p.conn, reserveMsg())).status
  const refusals = async (kind, limit) => {
    const { text } = await httpGet(relay.httpPort, '/metrics')
    const m = text.match(new RegExp(`mepassa_relay_limit_refusals_total\\{kind="${kind}",limit="${limit}"\\} (\\d+)`))
    return Number(m?.[1])
  }
  try {
    const a = [await from('127.0.0.2'), await from('127.0.0.2'), await from('127.0.0.2')]
    const b = [await from('127.0.0.3'), await from('127.0.0.3')]
    const c = await from('127.0.1.2')
    assert.equal(await reserve(a[0]), Status.OK)
    assert.equal(await reserve(a[1]), Status.OK)
    assert.equal(await reserve(a[2]), Status.RESERVATION_REFUSED, '127.0.0.2 is at its per-IP limit')
    assert.equal(await refusals('reservation', 'ip'), 1)
    assert.equal(await reserve(b[0]), Status.OK, 'another host of the same /24 still gets a slot')
    assert.equal(await reserve(b[1]), Status.RESERVATION_REFUSED, '127.0.0.0/24 is full')
    assert.equal(await refusals('reservation', 'subnet'), 1)
    assert.equal(await reserve(c), Status.OK, 'another /24 is not affected')
    await waitFor(async () => (await metric(relay, 'mepassa_relay_reservations_current')) === 4, { what: 'four slots' })

    // Circuits to c's reservation; c accepts each stop stream and holds it.
    const held = []
    await c.node.handle(STOP, async (stream) => {
      const r = new Reader(stream)
      await r.message()
      stream.send(frame([...intField(1, 1), ...intField(4, Status.OK)]))
      held.push(stream)
    }, { runOnLimitedConnection: true, maxInboundStreams: 16 })
    const connect = async (p) => {
      const x = await hopExchange(p.conn, connectMsg(c.node.peerId))
      held.push(x.stream)
      return x.status
    }
    assert.equal(await connect(a[0]), Status.OK)
    assert.equal(await connect(a[1]), Status.OK)
    assert.equal(await connect(a[2]), Status.RESOURCE_LIMIT_EXCEEDED, 'two circuits from 127.0.0.2 already')
    assert.equal(await refusals('circuit', 'ip'), 1)
    assert.equal(await connect(b[0]), Status.OK)
    assert.equal(await connect(b[1]), Status.RESOURCE_LIMIT_EXCEEDED, 'three circuits from 127.0.0.0/24 already')
    assert.equal(await refusals('circuit', 'subnet'), 1)
    await waitFor(async () => (await metric(relay, 'mepassa_relay_circuits_current')) === 3, { what: 'three circuits' })
    for (const s of held) s.abort(new Error('done'))
  } finally {
    for (const n of nodes) await n.stop()
    await relay.stop()
  }
})

// A target that reserves by hand and accepts one stop stream, reporting the
// StopMessage it got and how many bytes then arrive.
async function rawTarget (relay) {
  const t = await createJsNode({ listen: false })
  const conn = await t.dial(relay.multiaddr)
  assert.equal((await hopExchange(conn, reserveMsg())).status, Status.OK)
  let resolve
  const result = new Promise(r => { resolve = r })
  await t.handle(STOP, async (stream) => {
    const r = new Reader(stream)
    const connect = fields(await r.message())
    stream.send(frame([...intField(1, 1), ...intField(4, Status.OK)]))
    const rest = await r.rest()
    resolve({ connect, ...rest })
  }, { runOnLimitedConnection: true })
  return { node: t, result }
}

test('a circuit is closed at its data cap; both ends were told the limit', async () => {
  const relay = await startBootstrap({ env: { RELAY_CIRCUIT_MAX_BYTES: '3000' } })
  const target = await rawTarget(relay)
  const src = await createJsNode({ listen: false })
  try {
    const conn = await src.dial(relay.multiaddr)
    const { stream, reader, reply, status } = await hopExchange(conn, connectMsg(target.node.peerId))
    assert.equal(status, Status.OK)
    const limit = fields(reply.get(4)[0])
    assert.equal(Number(limit.get(2)[0]), 3000)
    stream.send(new Uint8Array(5000).fill(7))
    const got = await target.result
    assert.equal(got.bytes, 3000, 'exactly the cap reached the target')
    const toldTarget = fields(got.connect.get(3)[0])
    assert.equal(Number(toldTarget.get(2)[0]), 3000)
    assert.deepEqual([...fields(got.connect.get(2)[0]).get(1)[0]], [...src.peerId.toMultihash().bytes])
    const back = await reader.rest()
    assert.equal(back.bytes, 0)
    await relay.waitForLog(/relay: circuit .* ended \(data limit\)/)
  } finally {
    await src.stop()
    await target.node.stop()
    await relay.stop()
  }
})

test('a circuit is closed when its duration is over', async () => {
  const relay = await startBootstrap({ env: { RELAY_CIRCUIT_DURATION_SECS: '1' } })
  const target = await rawTarget(relay)
  const src = await createJsNode({ listen: false })
  try {
    const conn = await src.dial(relay.multiaddr)
    const { reader, reply, status } = await hopExchange(conn, connectMsg(target.node.peerId))
    assert.equal(status, Status.OK)
    assert.equal(Number(fields(reply.get(4)[0]).get(1)[0]), 1)
    const got = await target.result // ends without anyone closing: the relay did
    assert.equal(got.reset, true)
    const back = await reader.rest()
    assert.equal(back.reset, true)
    await relay.waitForLog(/relay: circuit .* ended \(duration limit\)/)
    await sleep(10)
  } finally {
    await src.stop()
    await target.node.stop()
    await relay.stop()
  }
})

test('a reservation keeps its connection past the idle timeout, and an expired one is no longer served', async () => {
  const relay = await startBootstrap({ env: { IDLE_TIMEOUT_SECS: '1', RELAY_RESERVATION_TTL_SECS: '3' } })
  const holder = await createJsNode({ listen: false })
  const idle = await createJsNode({ listen: false })
  const src = await createJsNode({ listen: false })
  try {
    const relayId = peerIdFromString(relay.peerId)
    const conn = await holder.dial(relay.multiaddr)
    assert.equal((await hopExchange(conn, reserveMsg())).status, Status.OK)
    await idle.dial(relay.multiaddr)
    // The plain connection idles out; the one holding a reservation stays.
    await waitFor(() => idle.getConnections(relayId).length === 0, { timeout: 10000, what: 'idle connection closed' })
    assert.equal(holder.getConnections(relayId).length, 1, 'reservation holder still connected')
    // After the TTL the reservation is gone even before the periodic sweep.
    await sleep(3200)
    const srcConn = await src.dial(relay.multiaddr)
    assert.equal((await hopExchange(srcConn, connectMsg(holder.peerId))).status, Status.NO_RESERVATION)
  } finally {
    await src.stop()
    await idle.stop()
    await holder.stop()
    await relay.stop()
  }
})

test('a reservation ends with its connection', async () => {
  const relay = await startBootstrap()
  const holder = await createJsNode({ listen: false })
  const src = await createJsNode({ listen: false })
  try {
    const conn = await holder.dial(relay.multiaddr)
    assert.equal((await hopExchange(conn, reserveMsg())).status, Status.OK)
    await waitFor(async () => (await metric(relay, 'mepassa_relay_reservations_current')) === 1, { what: 'reserved' })
    await conn.close()
    await waitFor(async () => (await metric(relay, 'mepassa_relay_reservations_current')) === 0, { what: 'released' })
    const srcConn = await src.dial(relay.multiaddr)
    assert.equal((await hopExchange(srcConn, connectMsg(holder.peerId))).status, Status.NO_RESERVATION)
  } finally {
    await src.stop()
    await holder.stop()
    await relay.stop()
  }
})

test('RELAY_ENABLED=false: the hop protocol is not offered', async () => {
  const relay = await startBootstrap({ env: { RELAY_ENABLED: 'false' } })
  const c = await createJsNode({ listen: false })
  try {
    const conn = await c.dial(relay.multiaddr)
    await assert.rejects(conn.newStream(HOP))
  } finally {
    await c.stop()
    await relay.stop()
  }
})

test('NETWORK_THREADS=2: a circuit whose two ends live on different network threads carries pings', async () => {
  const { relay, a, b, circuitAddr, stop } = await circuitPair({ NETWORK_THREADS: '2' })
  try {
    const threadOf = async (peer) => {
      const m = await relay.waitForLog(new RegExp(`connection \\d+ with ${peer} lives on network thread (\\d+)`))
      return Number(m[1])
    }
    const threadA = await threadOf(a.peerId)
    await b.dial(relay.multiaddr)
    const threadB = await threadOf(b.peerId)
    // The node hands inbound connections to its two network threads in turn.
    assert.notEqual(threadA, threadB, 'A and B are on different network threads')
    for (let i = 0; i < 3; i++) assert.ok(await b.services.ping.ping(circuitAddr) >= 0)
    await relay.waitForLog(new RegExp(`relay: circuit ${b.peerId} -> ${a.peerId} open`))
    const conn = b.getConnections(a.peerId).find(c => c.remoteAddr.toString().includes('/p2p-circuit'))
    assert.ok(conn, 'B reaches A through the circuit')
    await waitFor(async () => await metric(relay, 'mepassa_relay_circuit_bytes_total') > 0,
      { timeout: 5000, what: 'relayed bytes in /metrics' })
  } finally {
    await stop()
  }
})

// AutoNAT v2 server (libp2p/specs autonat/autonat-v2.md) against
// @libp2p/autonat-v2. js-libp2p's client never asks about private addresses,
// and everything here is loopback, so the tests hand its client the address
// to verify (what getUnverifiedMultiaddrs would pick on a public host) and
// then run its own askPeerToVerify: the request, the dial data, the nonce
// check on the dial-back stream and the verdict are all js's own code. The
// spec's statuses are checked with js's own protobuf codecs on raw streams.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { peerIdFromString } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { startBootstrap, createJsNode, waitFor, httpGet, closedPort } from '../lib/harness.mjs'
import { verifyAddress } from '../lib/autonat.mjs'

// Not in the package's exports map: imported by path.
const { Message, DialResponse, DialStatus, DialBack, DialBackResponse } =
  await import(new URL('../node_modules/@libp2p/autonat-v2/dist/src/pb/index.js', import.meta.url))

const DIAL_REQUEST = '/libp2p/autonat/2/dial-request'
const DIAL_BACK = '/libp2p/autonat/2/dial-back'

async function metric (name, labels = '') {
  const { text } = await httpGet(node.httpPort, '/metrics')
  const line = text.split('\n').find(l => l.startsWith(`${name}${labels} `))
  return line ? Number(line.split(' ')[1]) : NaN
}

// A js node running @libp2p/autonat-v2, connected to our node once identify
// has told it we serve the dial-request protocol.
async function v2Client (listen = ['/ip4/127.0.0.1/tcp/0']) {
  const js = await createJsNode({ services: { autoNAT: autoNATv2() }, config: { addresses: { listen } } })
  const conn = await js.dial(node.multiaddr)
  await waitFor(async () => (await js.peerStore.get(conn.remotePeer)).protocols.includes(DIAL_REQUEST),
    { what: 'identify of our node' })
  return { js, conn, client: js.services.autoNAT.client }
}

// One hand-made DialRequest on a raw stream; returns the messages we got.
async function rawRequest (conn, addrs, nonce = 1234n) {
  const stream = await conn.newStream(DIAL_REQUEST)
  const messages = pbStream(stream).pb(Message)
  await messages.write({ dialRequest: { addrs: addrs.map(a => multiaddr(a).bytes), nonce } })
  try {
    const reply = await messages.read({ signal: AbortSignal.timeout(30000) })
    await stream.close()
    return reply
  } catch (err) {
    return { error: err }
  }
}

// js's listen address on `ip`, without /p2p/.
const listenAddr = (js, ip = '127.0.0.1') =>
  js.getMultiaddrs().map(a => a.toString()).find(a => a.startsWith(`/ip4/${ip}/tcp/`)).replace(/\/p2p\/.*/, '')

let node
before(async () => { node = await startBootstrap() })
after(async () => { await node?.stop() })

test('AutoNAT v2: js learns its listen address is reachable (its own client, through our node alone)', async () => {
  const c = await v2Client()
  try {
    const results = await verifyAddress(c, listenAddr(c.js))
    assert.equal(results.success, 1)
    assert.equal(results.result, true, 'js confirmed the address')
    assert.ok(await metric('mepassa_autonat_v2_dial_backs_total', '{status="ok"}') >= 1)
    // The original connection is untouched by the dial-back.
    assert.equal(c.conn.status, 'open')
    assert.deepEqual(c.js.getConnections(peerIdFromString(node.peerId)).map(x => x.id), [c.conn.id])
  } finally {
    await c.js.stop()
  }
})

test('AutoNAT v2: a closed port is not reachable (E_DIAL_ERROR counted against it)', async () => {
  const c = await v2Client()
  try {
    const port = await closedPort()
    const results = await verifyAddress(c, `/ip4/127.0.0.1/tcp/${port}`)
    assert.equal(results.failure, 1)
    assert.equal(results.success, 0)
    assert.notEqual(results.result, true)
    const raw = await rawRequest(c.conn, [`/ip4/127.0.0.1/tcp/${port}`])
    assert.equal(raw.dialResponse.status, DialResponse.ResponseStatus.OK)
    assert.equal(raw.dialResponse.dialStatus, DialStatus.E_DIAL_ERROR)
    assert.ok(await metric('mepassa_autonat_v2_dial_backs_total', '{status="dial_error"}') >= 2)
  } finally {
    await c.js.stop()
  }
})

test('AutoNAT v2: another IP than the observed one costs dial data first (amplification defence)', async () => {
  // Listening on 127.0.0.2 too; it reaches us from 127.0.0.1.
  const c = await v2Client(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.2/tcp/0'])
  try {
    const before = await metric('mepassa_autonat_v2_dial_data_bytes_total')
    const results = await verifyAddress(c, listenAddr(c.js, '127.0.0.2'))
    assert.equal(results.result, true, 'js confirmed the other address')
    const paid = (await metric('mepassa_autonat_v2_dial_data_bytes_total')) - before
    assert.ok(paid >= 30000 && paid <= 100000 + 4096, `dial data ${paid}`)
  } finally {
    await c.js.stop()
  }
})

test('AutoNAT v2: statuses — dial refused, dial-back error, nonce on a separate connection, rate limit, reset', async () => {
  // A plain js node (no autonat-v2) handling the dial-back stream by hand.
  const js = await createJsNode()
  try {
    const backs = []
    await js.handle(DIAL_BACK, async (stream, connection) => {
      const messages = pbStream(stream)
      const m = await messages.read(DialBack)
      backs.push({ nonce: m.nonce, peer: connection.remotePeer.toString(), dir: connection.direction })
      await messages.write({ status: DialBackResponse.DialBackStatus.OK }, DialBackResponse)
      await stream.close()
    })
    const conn = await js.dial(node.multiaddr)
    const listen = listenAddr(js)

    // Nothing we are willing to dial: E_DIAL_REFUSED, and no dial-back budget used.
    const refused = await rawRequest(conn, ['/ip4/127.0.0.1/udp/4001/quic-v1', '/dns4/example.com/tcp/4001'])
    assert.equal(refused.dialResponse.status, DialResponse.ResponseStatus.E_DIAL_REFUSED)

    // The nonce arrives on a new connection, from a Peer ID other than ours.
    const ok = await rawRequest(conn, [listen], 987654321n)
    assert.equal(ok.dialResponse.status, DialResponse.ResponseStatus.OK)
    assert.equal(ok.dialResponse.dialStatus, DialStatus.OK)
    assert.equal(ok.dialResponse.addrIdx, 0)
    assert.equal(backs.length, 1)
    assert.equal(backs[0].nonce, 987654321n)
    assert.equal(backs[0].dir, 'inbound')
    assert.notEqual(backs[0].peer, node.peerId)

    // Reachable, but nobody answers the dial-back stream: E_DIAL_BACK_ERROR.
    await js.unhandle(DIAL_BACK)
    const noBack = await rawRequest(conn, [listen])
    assert.equal(noBack.dialResponse.status, DialResponse.ResponseStatus.OK)
    assert.equal(noBack.dialResponse.dialStatus, DialStatus.E_DIAL_BACK_ERROR)

    // Three dial-backs a minute per peer (shared with v1): the next is rejected.
    const third = await rawRequest(conn, [listen])
    assert.equal(third.dialResponse.dialStatus, DialStatus.E_DIAL_BACK_ERROR)
    const limited = await rawRequest(conn, [listen])
    assert.equal(limited.dialResponse.status, DialResponse.ResponseStatus.E_REQUEST_REJECTED)

    // Not a DialRequest: the stream is reset, and counted.
    const stream = await conn.newStream(DIAL_REQUEST)
    const messages = pbStream(stream).pb(Message)
    await messages.write({ dialDataResponse: { data: new Uint8Array(10) } })
    await assert.rejects(messages.read({ signal: AbortSignal.timeout(10000) }))

    const { text } = await httpGet(node.httpPort, '/metrics')
    assert.match(text, /mepassa_autonat_v2_responses_total\{status="dial_refused"\} 1/)
    assert.match(text, /mepassa_autonat_v2_responses_total\{status="request_rejected"\} 1/)
    assert.match(text, /mepassa_autonat_v2_responses_total\{status="bad_request"\} 1/)
    assert.match(text, /mepassa_autonat_v2_dial_backs_total\{status="dial_back_error"\} 2/)
  } finally {
    await js.stop()
  }
})

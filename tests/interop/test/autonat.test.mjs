// AutoNAT v1 server against js-libp2p: a js node opens /libp2p/autonat/1.0.0
// itself (js-libp2p's own client skips private addresses, and everything
// here is loopback) and sends DIAL. Our node must dial back on a NEW
// connection, from its dial-back identity (never its own Peer ID, so the
// asker's connection to us is never disturbed), only on the observed IP, and
// answer with the spec's statuses.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { startBootstrap, createJsNode, waitFor, httpGet, closedPort } from '../lib/harness.mjs'
import { lengthPrefixed } from '../lib/protobuf.mjs'
import { dialMessage, askV1 } from '../lib/autonat.mjs'

const OK = 0
const E_DIAL_ERROR = 100
const E_DIAL_REFUSED = 101
const E_BAD_REQUEST = 200

const frame = lengthPrefixed
const ask = (js, node, msg) => askV1(js, node.multiaddr, msg)

let node
before(async () => { node = await startBootstrap() })
after(async () => { await node?.stop() })

test('AutoNAT: reachable address -> OK after a dial-back on a new connection', async () => {
  const js = await createJsNode()
  try {
    const inbound = []
    js.addEventListener('connection:open', (e) => {
      if (e.detail.direction === 'inbound') inbound.push(e.detail)
    })
    const listen = js.getMultiaddrs().map(a => a.toString()).find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))
    assert.ok(listen)
    const res = await ask(js, node, dialMessage(js.peerId, [listen]))
    assert.equal(res.status, OK, res.text)
    assert.equal(res.addr, listen.replace(/\/p2p\/.*/, ''))
    // The dial-back arrived as a separate inbound connection, from the
    // dial-back identity, not from our node's Peer ID.
    await waitFor(() => inbound.length > 0, { what: 'dial-back connection' })
    assert.ok(inbound.every(c => !c.remotePeer.equals(peerIdFromString(node.peerId))))
  } finally {
    await js.stop()
  }
})

// Issue 15: the dial-back used to come from our own Peer ID; js picked that
// connection for its next stream, and we closed it under the stream ("The
// connection muxer is closed and not open").
test('AutoNAT: two requests back to back, then a ping on the original connection', async () => {
  const js = await createJsNode()
  try {
    const listen = js.getMultiaddrs().map(a => a.toString()).find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))
    const original = await js.dial(node.multiaddr)
    const first = await ask(js, node, dialMessage(js.peerId, [listen]))
    const second = await ask(js, node, dialMessage(js.peerId, [listen]))
    assert.equal(first.status, OK, first.text)
    assert.equal(second.status, OK, second.text)
    const rtt = await js.services.ping.ping(node.multiaddr)
    assert.ok(rtt >= 0)
    assert.equal(original.status, 'open')
    const ours = js.getConnections(peerIdFromString(node.peerId))
    assert.deepEqual(ours.map(c => c.id), [original.id], 'one connection to our node, the original')
  } finally {
    await js.stop()
  }
})

test('AutoNAT: unreachable address -> E_DIAL_ERROR; other IP -> E_DIAL_REFUSED; garbage -> E_BAD_REQUEST', async () => {
  const js = await createJsNode()
  try {
    const port = await closedPort()
    const unreachable = await ask(js, node, dialMessage(js.peerId, [`/ip4/127.0.0.1/tcp/${port}`]))
    assert.equal(unreachable.status, E_DIAL_ERROR, unreachable.text)

    // Only the observed IP (127.0.0.1) may be dialled: never a third party.
    const other = await ask(js, node, dialMessage(js.peerId, ['/ip4/8.8.8.8/tcp/4001']))
    assert.equal(other.status, E_DIAL_REFUSED)

    // Someone else's peer id.
    const stranger = await createJsNode({ listen: false })
    const notMe = await ask(js, node, dialMessage(stranger.peerId, [`/ip4/127.0.0.1/tcp/${port}`]))
    await stranger.stop()
    assert.equal(notMe.status, E_BAD_REQUEST)

    const garbage = await ask(js, node, frame([0xff, 0xff, 0xff]))
    assert.equal(garbage.status, E_BAD_REQUEST)
  } finally {
    await js.stop()
  }
})

test('AutoNAT: a peer gets at most 3 dial-backs a minute', async () => {
  const js = await createJsNode()
  try {
    const port = await closedPort()
    const statuses = []
    for (let i = 0; i < 4; i++) {
      statuses.push((await ask(js, node, dialMessage(js.peerId, [`/ip4/127.0.0.1/tcp/${port}`]))))
    }
    assert.deepEqual(statuses.map(s => s.status), [E_DIAL_ERROR, E_DIAL_ERROR, E_DIAL_ERROR, E_DIAL_REFUSED])
    assert.match(statuses[3].text, /rate limited/)
    const { text } = await httpGet(node.httpPort, '/metrics')
    assert.match(text, /mepassa_autonat_responses_total\{status="dial_refused"\} [1-9]/)
  } finally {
    await js.stop()
  }
})

// Our dials live on the network threads as inbound connections do: two
// dial-backs in a row go to two threads in turn (the node's debug log says
// where each dialled connection lives), and each still proves the address.
test('AutoNAT: dial-backs live on the network threads in turn', async () => {
  const threaded = await startBootstrap({ env: { NETWORK_THREADS: '2' } })
  const js = await createJsNode()
  try {
    const listen = js.getMultiaddrs().map(a => a.toString()).find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))
    for (let i = 0; i < 2; i++) {
      const res = await ask(js, threaded, dialMessage(js.peerId, [listen]))
      assert.equal(res.status, OK, res.text)
    }
    const re = new RegExp(`dialled connection \\d+ with ${js.peerId} lives on network thread (\\d+)`, 'g')
    await waitFor(() => [...threaded.logs().matchAll(re)].length >= 2, { what: 'two dialled connections in the log' })
    const threads = new Set([...threaded.logs().matchAll(re)].map(m => Number(m[1])))
    assert.deepEqual([...threads].sort(), [0, 1], `dial-backs on network threads ${[...threads]}`)
  } finally {
    await js.stop()
    await threaded.stop()
  }
})

// A js-libp2p peer for the NAT tests, run inside a network namespace by
// test/holepunch_netns.test.mjs: `node --import ./polyfill.mjs lib/netns_peer.mjs`.
// It prints one JSON object per line on stdout and takes commands the same
// way on stdin: first {"op":"start","relay":<our node's multiaddr>,
// "port":<local TCP port>} (sent once our node is up: loading the modules
// meanwhile is most of a peer's start-up time), then {"op":"dial","addr":...}
// and {"op":"stop"}.
//
// Every TCP dial leaves from the same local port (js-libp2p cannot dial from
// its listening port, so the peer does not listen on TCP at all): the NAT
// keeps that port, so the address our node observes in identify is the one
// the peer can be reached at once its own dial has opened the NAT. The peer
// takes that observed address as its public address (as AutoNAT would
// confirm it if the peer were reachable) and listens only through our relay.
import { createInterface } from 'node:readline'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { multiaddr } from '@multiformats/multiaddr'

const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const isCircuit = (ma) => ma.toString().includes('/p2p-circuit')
const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))
async function waitFor (fn, timeout, what) {
  const deadline = Date.now() + timeout
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

const commands = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
say({ ev: 'loaded' })
const cfg = JSON.parse((await commands.next()).value)

const peerOf = (addr) => addr.toString().split('/p2p/').pop()
const relayPeer = peerOf(cfg.relay)

// js-libp2p 3.3.11's dial queue drops the `initiator: false` DCUtR passes
// with its hole-punch dial (the side that sent SYNC must be the
// multistream-select server, Noise responder and Yamux server), so both
// ends of the simultaneous open act as initiator and Noise fails
// ("handshake stage 1 validation fail"); and even with the flag, Yamux
// takes its role from the TCP socket's direction ("Both endpoints are
// clients"). These two wrappers carry the flag from
// connectionManager.openConnection to the TCP transport's dial, and mark
// that socket inbound before the upgrade.
const responderDials = new Set()
const addrKey = (ma) => ma.toString().split('/p2p/')[0]
function keepInitiatorFlag (c) {
  const open = c.connectionManager.openConnection.bind(c.connectionManager)
  c.connectionManager.openConnection = (target, options = {}) => {
    if (options.initiator === false) for (const ma of [target].flat()) responderDials.add(addrKey(ma))
    return open(target, options)
  }
}
const tcpKeepingInitiatorFlag = (init) => (c) => {
  const transport = tcp(init)(c)
  const dial = transport.dial.bind(transport)
  transport.dial = (ma, options) => {
    if (!responderDials.delete(addrKey(ma))) return dial(ma, options)
    const upgrader = Object.create(options.upgrader)
    upgrader.upgradeOutbound = (maConn, opts) => {
      maConn.direction = 'inbound'
      return options.upgrader.upgradeOutbound(maConn, opts)
    }
    return dial(ma, { ...options, initiator: false, upgrader })
  }
  return transport
}

let components
const node = await createLibp2p({
  start: false,
  addresses: { listen: [`${cfg.relay}/p2p-circuit`] },
  transports: [tcpKeepingInitiatorFlag({ dialOpts: { localPort: cfg.port } }), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionMonitor: { enabled: false },
  // Other peers are remembered by their relayed addresses only. Otherwise
  // identify over the relayed connection stores B's public address and
  // js's DCUtR first tries a plain dial to it ("unilateral upgrade"): B's NAT
  // drops that SYN, but the attempt leaves SYN_SENT conntrack entries for the
  // same ports along our side, which later hand the other side's hole-punch
  // SYN to a closed socket here, and the RST kills the punch. The punch
  // itself uses the addresses sent in the DCUtR messages.
  connectionGater: { filterMultiaddrForPeer: async (peer, ma) => peer.toString() === relayPeer || isCircuit(ma) },
  services: {
    identify: identify(),
    ping: ping(),
    dcutr: dcutr({ timeout: cfg.dcutrTimeout ?? 5000 }),
    // Gives this script the address manager (to confirm the observed
    // address) and the connection manager (see keepInitiatorFlag).
    components: (c) => { components = c; keepInitiatorFlag(c); return {} }
  }
})

node.addEventListener('connection:open', ({ detail: c }) =>
  say({ ev: 'open', peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction, limited: c.limits != null }))
node.addEventListener('connection:close', ({ detail: c }) =>
  say({ ev: 'close', peer: c.remotePeer.toString(), addr: c.remoteAddr.toString() }))

// Our node tells us the address it sees us at.
const observedP = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no identify from the relay')), 15000)
  node.addEventListener('peer:identify', ({ detail }) => {
    if (detail.peerId.toString() !== relayPeer || detail.observedAddr == null) return
    clearTimeout(timer)
    resolve(detail.observedAddr)
  })
})
await node.start()
const observed = await observedP
components.addressManager.addObservedAddr(observed)
components.addressManager.confirmObservedAddr(observed, { type: 'observed' })
const circuit = await waitFor(() => node.getMultiaddrs().find(isCircuit), 15000, 'a relay reservation')
say({
  ev: 'ready',
  peerId: node.peerId.toString(),
  observed: observed.toString(),
  circuit: circuit.toString(),
  addrs: node.getMultiaddrs().map(String)
})

async function dial (addr) {
  const target = multiaddr(addr)
  const peer = peerOf(addr)
  const relayed = await node.dial(target)
  say({ ev: 'dialed', addr: relayed.remoteAddr.toString(), limited: relayed.limits != null })
  // DCUtR starts on its own once identify has run over the relayed connection.
  const direct = await waitFor(() => node.getConnections().find(c => c.remotePeer.toString() === peer && !isCircuit(c.remoteAddr)),
    cfg.directTimeout ?? 15000, 'a direct connection')
  // DCUtR closes the relayed connection once it has the direct one.
  await waitFor(() => !node.getConnections().some(c => c.remotePeer.toString() === peer && isCircuit(c.remoteAddr)),
    5000, 'the relayed connection to close')
  // A ping over the direct connection itself.
  const stream = await direct.newStream('/ipfs/ping/1.0.0')
  const payload = crypto.getRandomValues(new Uint8Array(32))
  const started = Date.now()
  stream.send(payload)
  let echoed = new Uint8Array(0)
  for await (const chunk of stream) {
    const b = chunk.subarray ? chunk.subarray() : chunk
    echoed = new Uint8Array([...echoed, ...b])
    if (echoed.length >= 32) break
  }
  await stream.close().catch(() => {})
  say({
    ev: 'direct',
    addr: direct.remoteAddr.toString(),
    direction: direct.direction,
    limited: direct.limits != null,
    pingOk: echoed.length === 32 && echoed.every((v, i) => v === payload[i]),
    rttMs: Date.now() - started,
    connections: node.getConnections().filter(c => c.remotePeer.toString() === peer).map(c => c.remoteAddr.toString())
  })
}

for await (const line of commands) {
  const cmd = JSON.parse(line)
  if (cmd.op === 'dial') {
    dial(cmd.addr).catch(err => say({ ev: 'error', op: 'dial', message: String(err?.stack ?? err) }))
  } else if (cmd.op === 'stop') {
    break
  }
}
await node.stop()
process.exit(0)

// QUIC connections on the network threads (NETWORK_THREADS=2): several js
// QUIC clients connect at once; each pings, identifies and runs FIND_NODE,
// and the node's debug log says which network thread each connection lives
// on: the inbound QUIC connections are spread over both. And a flood of
// 1200-byte datagrams at the connection ID of a live js connection on the
// second thread: each is handed over there (or dropped when its thread's
// share of 4 MiB is full), the bytes in flight stay within the bound, and
// js clients are served meanwhile; the test prints what the flood cost.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { peerIdFromString } from '@libp2p/peer-id'
import { waitFor, httpGet } from '../lib/harness.mjs'
import { quicKadClient, findNodeAnswered, startQuicNode, udpPortOf } from '../lib/quic_client.mjs'

let node
let quicAddr
before(async () => {
  ({ node, quicAddr } = await startQuicNode({ LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0/quic-v1', NETWORK_THREADS: '2' }))
})
after(async () => { await node?.stop() })

// Pings our node from `js`. js-libp2p allows one outbound ping stream at a
// time and may still hold the previous one while it closes: then again.
async function pingAgain (js) {
  const rtt = await waitFor(async () => {
    try {
      return { rtt: await js.services.ping.ping(quicAddr) }
    } catch (err) {
      if (err.name === 'TooManyOutboundProtocolStreamsError') return null
      throw err
    }
  }, { interval: 10, what: `a ping from ${js.peerId}` })
  return rtt.rtt
}

async function session (js) {
  const ours = peerIdFromString(node.peerId)
  const rtt = await pingAgain(js)
  assert.ok(rtt >= 0)
  // Identify: js learns our agent over the QUIC connection.
  await waitFor(async () => {
    const p = await js.peerStore.get(ours).catch(() => null)
    return p?.metadata?.get('AgentVersion') ? p : null
  }, { what: `identify of our node for ${js.peerId}` })
  // FIND_NODE of a random target: our node answers.
  await findNodeAnswered(js, node)
  assert.match(js.getConnections(ours)[0].remoteAddr.toString(), /\/udp\/\d+\/quic-v1/)
}

test('several js QUIC clients at once: each pings, identifies and runs FIND_NODE, on both network threads', async () => {
  const clients = await Promise.all(Array.from({ length: 4 }, () => quicKadClient()))
  try {
    await Promise.all(clients.map(session))
    const threads = new Set()
    for (const js of clients) {
      const m = await node.waitForLog(
        new RegExp(`quic connection \\d+ with ${js.peerId} lives on network thread (\\d+)`))
      threads.add(Number(m[1]))
    }
    assert.ok(threads.size >= 2, `QUIC connections on network threads ${[...threads]}`)
    // The datagrams of those on the second thread came through the main
    // thread's socket and were handed over.
    const { text } = await httpGet(node.httpPort, '/metrics')
    const m = text.match(/^mepassa_quic_datagrams_handed_over_total (\d+)$/m)
    assert.ok(m && Number(m[1]) > 0, `datagrams handed over: ${m?.[1]}`)
    // Our side identified each of them over QUIC.
    for (const js of clients) await node.waitForLog(new RegExp(`identified ${js.peerId}`))
  } finally {
    await Promise.all(clients.map(js => js.stop()))
  }
})

// A series' value on /metrics (0 when absent).
function metricOf (text, series) {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : 0
}

// The UDP socket on 127.0.0.1:`port` in /proc/net/udp: the bytes queued
// for it, and the datagrams the kernel dropped (its receive buffer full).
function udpSocket (port) {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  const line = readFileSync('/proc/net/udp', 'utf8').split('\n').find(l => l.trim().split(/\s+/)[1] === local)
  const f = line ? line.trim().split(/\s+/) : []
  return { queued: line ? parseInt(f[4].split(':')[1], 16) : 0, drops: line ? Number(f[12]) : 0 }
}

// The node's CPU time so far, in seconds (utime + stime of /proc/PID/stat).
function cpuSeconds (pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

test('a flood at a live QUIC connection on a network thread stays bounded while js clients are served', async () => {
  const KiB = 1024
  const FLOOD = 8000 // datagrams of 1200 bytes: over twice the 4 MiB cap
  const clients = []
  const sock = dgram.createSocket('udp4')
  try {
    // js clients until one lives on network thread 1 (the other threads
    // read their datagrams inline: nothing handed over there).
    let victim
    for (let i = 0; i < 4 && !victim; i++) {
      const js = await quicKadClient()
      clients.push(js)
      await js.dial(quicAddr)
      const m = await node.waitForLog(new RegExp(
        `quic connection \\d+ with ${js.peerId} lives on network thread (\\d+) \\(connection ID ([0-9a-f]+)\\)`))
      if (Number(m[1]) === 1) victim = { js, cid: Buffer.from(m[2], 'hex') }
    }
    assert.ok(victim, 'a js connection on network thread 1')
    const port = udpPortOf(quicAddr)
    const before = (await httpGet(node.httpPort, '/metrics')).text
    const cpuBefore = cpuSeconds(node.proc.pid)
    const kernelBefore = udpSocket(port).drops

    // The flood, from another socket: short header, the connection's ID,
    // junk that does not decrypt.
    const send = (buf) => new Promise((resolve, reject) =>
      sock.send(buf, port, '127.0.0.1', (err) => err ? reject(err) : resolve()))
    // In bursts of 32, each once the node's socket has room for it (the
    // kernel drops what its receive buffer cannot hold: not our cost).
    const flood = (async () => {
      for (let i = 0; i < FLOOD; i++) {
        if (i % 32 === 0) {
          await waitFor(() => udpSocket(port).queued < 64 * KiB, { interval: 1, what: 'room in the socket' })
        }
        const d = randomBytes(1200)
        d[0] = 0x40 | (d[0] & 0x3f)
        victim.cid.copy(d, 1)
        await send(d)
      }
    })()
    // Meanwhile a new js client connects and is served, and the flooded
    // connection's client pings.
    const newcomer = await quicKadClient()
    clients.push(newcomer)
    await Promise.all([session(newcomer), pingAgain(victim.js)])
    await flood

    // Every datagram of the flood was handed over to the connection's
    // thread or dropped as backlog there, unless the kernel dropped it
    // before (the socket's receive buffer full); and all were read.
    const delta = (text, series) => metricOf(text, series) - metricOf(before, series)
    let kernel = 0
    const after = await waitFor(async () => {
      const text = (await httpGet(node.httpPort, '/metrics')).text
      kernel = udpSocket(port).drops - kernelBefore
      const seen = delta(text, 'mepassa_quic_datagrams_handed_over_total') +
        delta(text, 'mepassa_quic_datagrams_dropped_total{reason="backlog"}') + kernel
      return seen >= FLOOD && metricOf(text, 'mepassa_quic_handed_over_bytes') === 0 ? text : null
    }, { what: 'every datagram of the flood handed over or dropped, and read' })
    const cpu = cpuSeconds(node.proc.pid) - cpuBefore
    const handed = delta(after, 'mepassa_quic_datagrams_handed_over_total')
    const dropped = delta(after, 'mepassa_quic_datagrams_dropped_total{reason="backlog"}')
    const peak = metricOf(after, 'mepassa_quic_handed_over_bytes_peak')
    console.log(`flood: ${FLOOD} datagrams of 1200 bytes sent at a live connection ID; ` +
      `${handed} handed over, ${dropped} dropped (backlog), ${kernel} dropped by the kernel; ` +
      `at most ${peak} bytes in flight; node CPU ${cpu.toFixed(2)} s ` +
      `(${(cpu / FLOOD * 1e6).toFixed(1)} us a datagram sent)`)
    assert.ok(handed + dropped >= FLOOD / 2, `most of the flood reached the node: ${handed} + ${dropped}`)
    assert.ok(peak > 0 && peak <= 4096 * KiB, `bytes in flight within 4 MiB: ${peak}`)
    // The clients are still served after it.
    assert.ok(await pingAgain(victim.js) >= 0)
    await session(clients[0])
  } finally {
    sock.close()
    await Promise.all(clients.map(js => js.stop()))
  }
})

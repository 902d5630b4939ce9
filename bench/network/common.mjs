// Pieces shared by the benchmark's processes: process CPU/RSS from /proc,
// a pull reader over a js-libp2p 3.x stream, the raw Kademlia FIND_NODE
// codec (just enough protobuf to build a request and count closer peers),
// and the js-libp2p client configuration the load generator uses.
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { load } from './deps.mjs'

export const KAD = '/ipfs/kad/1.0.0'
export const PING = '/ipfs/ping/1.0.0'
const TICKS = 100 // USER_HZ on Linux

// RSS in bytes (VmRSS) and CPU seconds (utime + stime) of a process.
export function procStats (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKb = Number(status.match(/VmRSS:\s+(\d+) kB/)[1])
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS
  return { rss: rssKb * 1024, cpu }
}

export const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))

export function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

// Pulls bytes from a js-libp2p 3.x stream (an async iterable of Uint8Array or
// Uint8ArrayList) into one growing buffer.
export class StreamReader {
  constructor (stream) {
    this.it = stream[Symbol.asyncIterator]()
    this.buf = Buffer.alloc(0)
  }

  async fill () {
    const { value, done } = await this.it.next()
    if (done) throw new Error('stream ended')
    const chunk = value.subarray ? value.subarray() : value
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk])
  }

  async readExact (n) {
    while (this.buf.length < n) await this.fill()
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  // One unsigned-varint length-prefixed message.
  async readLengthPrefixed () {
    for (;;) {
      const v = decodeVarint(this.buf, 0)
      if (v != null && this.buf.length >= v.next + v.value) {
        const out = this.buf.subarray(v.next, v.next + v.value)
        this.buf = this.buf.subarray(v.next + v.value)
        return out
      }
      await this.fill()
    }
  }
}

// Writes and waits for 'drain' when the stream says its buffer is full.
export async function send (stream, bytes) {
  if (!stream.send(bytes)) {
    await new Promise((resolve, reject) => {
      const onDrain = () => { cleanup(); resolve() }
      const onClose = () => { cleanup(); reject(new Error('stream closed')) }
      const cleanup = () => { stream.removeEventListener('drain', onDrain); stream.removeEventListener('close', onClose) }
      stream.addEventListener('drain', onDrain)
      stream.addEventListener('close', onClose)
    })
  }
}

export function encodeVarint (n) {
  const out = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

function decodeVarint (buf, pos) {
  let value = 0
  let mul = 1
  for (let i = pos; i < buf.length && i < pos + 9; i++) {
    value += (buf[i] & 0x7f) * mul
    if ((buf[i] & 0x80) === 0) return { value, next: i + 1 }
    mul *= 128
  }
  return null
}

// libp2p/specs kad-dht: Message { type = 1 (FIND_NODE = 4), key = 2 }.
// The key is a random sha2-256 multihash, like a peer id's digest.
export function findNodeRequest () {
  const key = Buffer.concat([Buffer.from([0x12, 0x20]), randomBytes(32)])
  const body = Buffer.from([0x08, 0x04, 0x12, key.length, ...key])
  return Buffer.concat([Buffer.from(encodeVarint(body.length)), body])
}

// Number of closerPeers (field 8) in a Message; throws on garbage.
export function countCloserPeers (msg) {
  let pos = 0
  let count = 0
  while (pos < msg.length) {
    const tag = decodeVarint(msg, pos)
    if (tag == null) throw new Error('bad protobuf tag')
    pos = tag.next
    const field = Math.floor(tag.value / 8)
    const wire = tag.value & 7
    if (wire === 0) {
      const v = decodeVarint(msg, pos); if (v == null) throw new Error('bad varint'); pos = v.next
    } else if (wire === 2) {
      const len = decodeVarint(msg, pos); if (len == null) throw new Error('bad length')
      pos = len.next + len.value
      if (field === 8) count++
    } else {
      throw new Error(`unexpected wire type ${wire}`)
    }
  }
  if (pos !== msg.length) throw new Error('truncated message')
  return count
}

let libs
export async function libp2pLibs () {
  libs ??= {
    ...(await load('libp2p')),
    ...(await load('@libp2p/tcp')),
    ...(await load('@chainsafe/libp2p-noise')),
    ...(await load('@chainsafe/libp2p-yamux')),
    ...(await load('@libp2p/identify')),
    ...(await load('@libp2p/ping')),
    ...(await load('@libp2p/kad-dht')),
    ...(await load('@multiformats/multiaddr'))
  }
  return libs
}

// Connection-manager limits out of the way: the benchmark measures the
// protocol stack, not js-libp2p's default admission limits (300 connections,
// 5 inbound connections per second per host, 10 pending upgrades).
export const OPEN_LIMITS = {
  maxConnections: 100_000,
  inboundConnectionThreshold: 1_000_000,
  maxIncomingPendingConnections: 10_000,
  maxDialQueueLength: 100_000
}

// A client as MePassa apps run it: TCP, Noise, Yamux, Identify, Ping; it
// does not listen (so neither server stores it or dials it back).
export async function createClient ({ services = {}, listen = false } = {}) {
  const l = await libp2pLibs()
  return l.createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [l.tcp()],
    connectionEncrypters: [l.noise()],
    streamMuxers: [l.yamux()],
    connectionManager: OPEN_LIMITS,
    connectionMonitor: { enabled: false },
    services: { identify: l.identify(), ping: l.ping(), ...services }
  })
}

// Network benchmark: mepassa-bootstrap (the real binary) side by side with a
// js-libp2p bootstrap server (js-server.mjs), both on 127.0.0.1, under the
// same js-libp2p load generator, in one run. Prints ours, js and the ratio
// for each measurement, then a table, and writes the table as JSON.
//
//   node --import ./tests/interop/polyfill.mjs bench/network/run.mjs \
//     --binary build/mepassa-bootstrap [--out bench-network.json]
//
// Ratios: ours/js for throughput, js/ours for CPU per operation and memory;
// above 1 means ours is better. Not a test: nothing is asserted. The whole
// run is bounded (--deadline seconds, default 300) and kills what it started.
import { fork, spawn } from 'node:child_process'
import { writeFileSync, readFileSync, readdirSync, readlinkSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, totalmem, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createClient, procStats, sleep, percentile, StreamReader, send, findNodeRequest, countCloserPeers, KAD, PING, libp2pLibs } from './common.mjs'

const HERE = import.meta.dirname
const ROOT = resolve(HERE, '../..')
const POLYFILL = resolve(ROOT, 'tests/interop/polyfill.mjs')

const { values: opt } = parseArgs({
  options: {
    binary: { type: 'string', default: resolve(ROOT, 'build/mepassa-bootstrap') },
    out: { type: 'string', default: 'bench-network.json' },
    duration: { type: 'string', default: '5' }, // seconds per throughput measurement
    'max-handshakes': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' }, // concurrent dialing clients
    streams: { type: 'string', default: '8' }, // FIND_NODE streams
    preload: { type: 'string', default: '200' }, // routing-table peers
    'idle-conns': { type: 'string', default: '1000' },
    'per-peer': { type: 'string', default: '10' }, // idle connections per client identity
    'idle-procs': { type: 'string', default: '4' },
    'memory-cycles': { type: 'string', default: '1' },
    deadline: { type: 'string', default: '300' },
    only: { type: 'string', default: 'memory,handshakes,ping,findnode' }
  }
})
const DURATION = Number(opt.duration) * 1000
const PHASES = new Set(opt.only.split(','))

// ---- processes we own, killed on every exit path ----
const children = new Set()
const tempDirs = new Set()
function killAll () {
  for (const c of children) { try { c.kill('SIGKILL') } catch {} }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130) })
const deadline = setTimeout(() => {
  console.error(`deadline of ${opt.deadline} s reached; stopping`)
  killAll()
  process.exit(2)
}, Number(opt.deadline) * 1000)
deadline.unref()

function child (script, { gc = false } = {}) {
  const execArgv = ['--import', POLYFILL, ...(gc ? ['--expose-gc'] : [])]
  const c = fork(resolve(HERE, script), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(c)
  c.on('exit', () => children.delete(c))
  return c
}

// Next IPC message of `type` from a child (errors and early exits reject).
function expect (c, type, timeout = 60_000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { done(); reject(new Error(`timeout waiting for ${type}`)) }, timeout)
    const onMsg = (m) => {
      if (m.type === type) { done(); resolve(m) } else if (m.type === 'error') { done(); reject(new Error(m.error)) }
    }
    const onExit = (code) => { done(); reject(new Error(`child exited (${code}) before ${type}`)) }
    const done = () => { clearTimeout(t); c.off('message', onMsg); c.off('exit', onExit) }
    c.on('message', onMsg)
    c.on('exit', onExit)
  })
}

// ---- the two servers ----
// TCP ports a process listens on, from /proc (RUST_LOG=warn hides the
// "Listening on" lines, and both ports are chosen by the kernel).
function listeningPorts (pid) {
  const inodes = new Set()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)
      if (m) inodes.add(m[1])
    } catch {}
  }
  const ports = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) ports.push(parseInt(f[1].split(':')[1], 16))
    }
  }
  return ports
}

async function startOurs () {
  const dataDir = mkdtempSync(join(tmpdir(), 'mp-netbench-'))
  tempDirs.add(dataDir)
  const env = {
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    HEALTH_PORT: '0',
    HEALTH_BIND: '127.0.0.1',
    ALLOW_PRIVATE_ADDRS: 'true',
    LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0',
    RUST_LOG: 'warn',
    // Every load-generator connection comes from 127.0.0.1, and the idle
    // phase opens several connections per client identity.
    MAX_CONNECTIONS_PER_IP: '100000',
    MAX_CONNECTIONS_PER_PEER: '64',
    MAX_CONNECTIONS: '100000'
  }
  const proc = spawn(resolve(opt.binary), [], { env, stdio: ['ignore', 'inherit', 'inherit'] })
  children.add(proc)
  let health
  for (let i = 0; i < 150 && !health; i++) {
    await sleep(100)
    if (proc.exitCode !== null) throw new Error(`${opt.binary} exited with ${proc.exitCode}`)
    for (const port of listeningPorts(proc.pid)) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) })
        health = { port, body: await res.json() }
        break
      } catch {}
    }
  }
  if (!health) throw new Error('our node did not start (no /health answer)')
  const httpPort = health.port
  const addr = health.body.listen_addrs.find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))
  const get = async (path) => fetch(`http://127.0.0.1:${httpPort}${path}`)
  return {
    name: 'ours',
    pid: proc.pid,
    addr: addr.includes('/p2p/') ? addr : `${addr}/p2p/${health.body.peer_id}`,
    async gc () {},
    async routingTable () { return (await (await get('/health')).json()).routing_table_size },
    async connections () {
      const text = await (await get('/metrics')).text()
      // Inbound connections, summed over the transport label (tcp, quic).
      let n = NaN
      for (const m of text.matchAll(/^mepassa_connections_current\{direction="inbound"[^}]*\} (\d+)/gm)) {
        n = (Number.isNaN(n) ? 0 : n) + Number(m[1])
      }
      return n
    },
    async stop () {
      proc.kill('SIGTERM')
      await Promise.race([new Promise(resolve => proc.once('exit', resolve)), sleep(8000)])
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

async function startJs () {
  const c = child('js-server.mjs', { gc: true })
  const ready = await expect(c, 'ready')
  const stats = async () => { c.send({ cmd: 'stats' }); return expect(c, 'stats') }
  return {
    name: 'js',
    pid: c.pid,
    addr: ready.addr,
    async gc () { c.send({ cmd: 'gc' }); await expect(c, 'gc-done') },
    async routingTable () { return (await stats()).routingTable },
    async connections () { return (await stats()).connections },
    async stop () { c.kill('SIGTERM') }
  }
}

// ---- measurements; each returns numbers for one server ----

async function openIdle (server, ma) {
  const procs = Number(opt['idle-procs'])
  const perPeer = Number(opt['per-peer'])
  const peersTotal = Math.ceil(Number(opt['idle-conns']) / perPeer)
  const kids = []
  for (let i = 0; i < procs; i++) {
    const peers = Math.floor(peersTotal / procs) + (i < peersTotal % procs ? 1 : 0)
    const k = child('idle.mjs')
    kids.push(k)
    k.send({ cmd: 'open', target: ma, peers, perPeer })
  }
  const done = await Promise.all(kids.map(k => expect(k, 'opened', 120_000)))
  const opened = done.reduce((a, m) => a + m.connections, 0)
  const failed = done.reduce((a, m) => a + m.failed, 0)
  if (failed > 0) console.log(`${server.name}: ${failed} dials failed and were retried`)
  return { kids, opened, failed }
}

async function measureMemory (server, ma) {
  await server.gc(); await sleep(1000)
  const idle = procStats(server.pid).rss
  const cycles = []
  // Cycle 1 is the measurement; later cycles (--memory-cycles) show whether
  // memory kept after closing is reused or keeps growing.
  for (let c = 0; c < Number(opt['memory-cycles']); c++) {
    const { kids, opened, failed } = await openIdle(server, ma)
    await sleep(3000) // identify exchanges and first pings settle
    await server.gc(); await sleep(1000)
    const loaded = procStats(server.pid).rss
    const seen = await server.connections()
    for (const k of kids) k.kill('SIGKILL')
    // What stays after the connections are gone (memory kept by the
    // allocator or the V8 heap, or leaked).
    for (let i = 0; i < 20 && await server.connections() > 0; i++) await sleep(500)
    await sleep(1000)
    await server.gc(); await sleep(1000)
    cycles.push({ opened, failed, seen, loaded, after: procStats(server.pid).rss })
  }
  const { opened, seen, loaded, after } = cycles[0]
  return { idle, loaded, after, opened, seen, perConn: (loaded - idle) / opened, cycles }
}

async function handshakeLoop (client, ma, until, max, counter) {
  while (Date.now() < until && counter.n < max) {
    const conn = await client.dial(ma, { force: true })
    counter.n++
    await conn.close()
  }
}

async function measureHandshakes (server, addr) {
  const ma = (await libp2pLibs()).multiaddr(addr)
  const out = {}
  for (const [label, parallel] of [['sequential', 1], ['concurrent', Number(opt.concurrency)]]) {
    const clients = await Promise.all(Array.from({ length: parallel }, () => createClient()))
    const counter = { n: 0 }
    const s0 = procStats(server.pid); const c0 = process.cpuUsage(); const t0 = performance.now()
    const until = Date.now() + DURATION
    await Promise.all(clients.map(c => handshakeLoop(c, ma, until, Number(opt['max-handshakes']) * parallel, counter)))
    const secs = (performance.now() - t0) / 1000
    const s1 = procStats(server.pid); const c1 = process.cpuUsage(c0)
    out[label] = {
      count: counter.n,
      perSec: counter.n / secs,
      serverCpuUs: (s1.cpu - s0.cpu) * 1e6 / counter.n,
      loadCpuShare: (c1.user + c1.system) / 1e6 / secs // load generator's cores busy
    }
    await Promise.all(clients.map(c => c.stop()))
  }
  await sleep(1000)
  return out
}

async function measurePing (server, ma) {
  const l = await libp2pLibs()
  const client = await createClient()
  const conn = await client.dial(l.multiaddr(ma))
  const stream = await conn.newStream(PING)
  const reader = new StreamReader(stream)
  const lat = []
  const s0 = procStats(server.pid); const t0 = performance.now()
  const until = t0 + DURATION
  const payload = Buffer.alloc(32)
  for (let i = 0; performance.now() < until; i++) {
    payload.writeUInt32BE(i, 0)
    const a = performance.now()
    await send(stream, payload)
    const echo = await reader.readExact(32)
    lat.push(performance.now() - a)
    if (echo.readUInt32BE(0) !== i) throw new Error('ping echo mismatch')
  }
  const secs = (performance.now() - t0) / 1000
  const s1 = procStats(server.pid)
  await stream.close().catch(() => {})
  await client.stop()
  lat.sort((x, y) => x - y)
  return {
    count: lat.length,
    perSec: lat.length / secs,
    p50us: percentile(lat, 0.5) * 1000,
    p99us: percentile(lat, 0.99) * 1000,
    serverCpuUs: (s1.cpu - s0.cpu) * 1e6 / lat.length
  }
}

async function findNodeLoop (stream, until, stat) {
  const reader = new StreamReader(stream)
  while (performance.now() < until) {
    await send(stream, findNodeRequest())
    const msg = await reader.readLengthPrefixed()
    const n = countCloserPeers(msg)
    stat.count++
    stat.closer += n
  }
  await stream.close().catch(() => {})
}

async function measureFindNode (server, ma) {
  const l = await libp2pLibs()
  const client = await createClient()
  const conn = await client.dial(l.multiaddr(ma))
  const streams = []
  for (let i = 0; i < Number(opt.streams); i++) streams.push(await conn.newStream(KAD))
  const stat = { count: 0, closer: 0 }
  const s0 = procStats(server.pid); const t0 = performance.now()
  await Promise.all(streams.map(s => findNodeLoop(s, t0 + DURATION, stat)))
  const secs = (performance.now() - t0) / 1000
  const s1 = procStats(server.pid)
  await client.stop()
  return {
    count: stat.count,
    perSec: stat.count / secs,
    closerPerAnswer: stat.closer / stat.count,
    serverCpuUs: (s1.cpu - s0.cpu) * 1e6 / stat.count
  }
}

async function preload (servers) {
  const c = child('peers.mjs')
  c.send({ cmd: 'start', count: Number(opt.preload), targets: servers.map(s => s.addr) })
  await expect(c, 'ready', 120_000)
  // Wait until both tables stop growing (identify and insertion are async).
  let last = ''
  let stable = 0
  for (let i = 0; i < 30 && stable < 3; i++) {
    await sleep(1000)
    const sizes = (await Promise.all(servers.map(s => s.routingTable()))).join(',')
    stable = sizes === last ? stable + 1 : 0
    last = sizes
  }
  return c
}

// ---- report ----
const rows = []
function report (metric, unit, ours, js, better) {
  const ratio = better === 'higher' ? ours / js : js / ours
  rows.push({ metric, unit, ours, js, ratio, better })
  console.log(`${metric}: ours ${fmt(ours)} ${unit}, js ${fmt(js)} ${unit}, ratio ${ratio.toFixed(2)}x ${better === 'higher' ? '(ours/js)' : '(js/ours)'}`)
}
function fmt (x) {
  if (!Number.isFinite(x)) return String(x)
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)
}

async function main () {
  const started = Date.now()
  const nofile = (() => {
    try { return readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+)/)[1] } catch { return '?' }
  })()
  if (Number(nofile) < Number(opt['idle-conns']) + 500) {
    console.error(`warning: open-files limit ${nofile} may be too low for ${opt['idle-conns']} connections; raise it with ulimit -n`)
  }
  const ours = await startOurs()
  const js = await startJs()
  const servers = [ours, js]
  console.log(`ours: pid ${ours.pid} ${ours.addr}\njs:   pid ${js.pid} ${js.addr}`)
  const details = {}
  const both = async (name, fn) => {
    const r = {}
    for (const s of servers) { console.log(`-- ${name}: ${s.name}`); r[s.name] = await fn(s, s.addr) }
    details[name] = r
    return r
  }

  if (PHASES.has('memory')) {
    const m = await both('memory', measureMemory)
    for (const s of servers) {
      console.log(`${s.name}: ${m[s.name].opened} connections opened, server counts ${m[s.name].seen}`)
      for (const [i, c] of m[s.name].cycles.entries()) {
        console.log(`  cycle ${i + 1}: RSS ${(c.loaded / 2 ** 20).toFixed(1)} MiB open, ${(c.after / 2 ** 20).toFixed(1)} MiB after closing`)
      }
    }
    report('RSS idle', 'MiB', m.ours.idle / 2 ** 20, m.js.idle / 2 ** 20, 'lower')
    report(`RSS with ${m.ours.opened} idle connections`, 'MiB', m.ours.loaded / 2 ** 20, m.js.loaded / 2 ** 20, 'lower')
    report('memory per idle connection', 'KiB', m.ours.perConn / 1024, m.js.perConn / 1024, 'lower')
    report('RSS after closing them', 'MiB', m.ours.after / 2 ** 20, m.js.after / 2 ** 20, 'lower')
  }
  if (PHASES.has('handshakes')) {
    const h = await both('handshakes', measureHandshakes)
    for (const k of ['sequential', 'concurrent']) {
      console.log(`${k}: load generator busy ${h.ours[k].loadCpuShare.toFixed(2)} cores (ours), ${h.js[k].loadCpuShare.toFixed(2)} (js)`)
      report(`handshakes/s, ${k}`, '/s', h.ours[k].perSec, h.js[k].perSec, 'higher')
      report(`server CPU per handshake, ${k}`, 'us', h.ours[k].serverCpuUs, h.js[k].serverCpuUs, 'lower')
    }
  }
  if (PHASES.has('ping')) {
    const p = await both('ping', measurePing)
    report('ping round trips/s (1 stream)', '/s', p.ours.perSec, p.js.perSec, 'higher')
    report('ping p50 latency', 'us', p.ours.p50us, p.js.p50us, 'lower')
    report('ping p99 latency', 'us', p.ours.p99us, p.js.p99us, 'lower')
    report('server CPU per ping', 'us', p.ours.serverCpuUs, p.js.serverCpuUs, 'lower')
  }
  if (PHASES.has('findnode')) {
    console.log(`-- preload: ${opt.preload} js Kademlia servers connect to both`)
    const peers = await preload(servers)
    const sizes = { ours: await ours.routingTable(), js: await js.routingTable() }
    console.log(`routing table sizes: ours ${sizes.ours}, js ${sizes.js}`)
    const f = await both('findnode', measureFindNode)
    details.findnode.routingTable = sizes
    console.log(`closer peers per answer: ours ${f.ours.closerPerAnswer.toFixed(1)}, js ${f.js.closerPerAnswer.toFixed(1)}`)
    report(`FIND_NODE answers/s (${opt.streams} streams)`, '/s', f.ours.perSec, f.js.perSec, 'higher')
    report('server CPU per FIND_NODE', 'us', f.ours.serverCpuUs, f.js.serverCpuUs, 'lower')
    peers.kill('SIGKILL')
  }

  await js.stop()
  await ours.stop()

  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    loadavg: loadavg().map(x => +x.toFixed(2))
  }
  console.log(`\n== mepassa-bootstrap vs js-libp2p (loopback; ${machine.cpus} cores, load ${machine.loadavg.join(' ')}) ==`)
  const w = Math.max(...rows.map(r => r.metric.length + r.unit.length + 3))
  console.log(`${'metric'.padEnd(w)} ${'ours'.padStart(10)} ${'js'.padStart(10)} ${'ratio'.padStart(8)}`)
  for (const r of rows) {
    console.log(`${`${r.metric} (${r.unit})`.padEnd(w)} ${fmt(r.ours).padStart(10)} ${fmt(r.js).padStart(10)} ${(r.ratio.toFixed(2) + 'x').padStart(8)}`)
  }
  console.log('ratio > 1: ours is better (ours/js for rates, js/ours for CPU, latency and memory)')
  const result = { date: new Date().toISOString(), seconds: (Date.now() - started) / 1000, machine, options: opt, rows, details }
  writeFileSync(opt.out, JSON.stringify(result, null, 2) + '\n')
  console.log(`written to ${opt.out}`)
}

main().then(() => { killAll(); process.exit(0) }, (e) => { console.error(e); killAll(); process.exit(1) })

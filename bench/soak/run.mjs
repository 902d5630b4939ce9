// Soak test: one mepassa-bootstrap node (the real binary) on 127.0.0.1 under
// a mixed, hostile load for --minutes, sampled every --sample seconds, drawn
// as a PNG. Not a test: nothing is asserted; it reports whether anything grew.
//
//   node --import ./tests/interop/polyfill.mjs bench/soak/run.mjs \
//     --binary build/mepassa-bootstrap --minutes 30 --out soak-out
//
// Load, all at once, for the whole run:
//  - churn: js-libp2p clients that listen (so the node identifies and stores
//    them), dial the node, send a FIND_NODE, stay a few seconds, leave;
//  - FIND_NODE traffic: persistent clients, a new stream per request (what
//    rust-libp2p and js clients do);
//  - relay: one js peer holds a reservation on the node; every few seconds a
//    fresh js peer pings it through a circuit;
//  - attacks: mp-bad-peer scenarios in rotation (every one its --help lists).
// Samples: the node's RSS, open files, connections, storage queue depth,
// WAL and database size, and an honest peer's ping and FIND_NODE latency.
// Output in --out: samples.csv, summary.json, soak.png (gnuplot; Debian's
// gnuplot-nox). Loopback only; bounded by --minutes plus a hard deadline;
// kills everything it started on every exit path.
import { spawn, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createClient, procStats, sleep, StreamReader, send, findNodeRequest, countCloserPeers, KAD, libp2pLibs, OPEN_LIMITS } from '../network/common.mjs'
import { load } from '../network/deps.mjs'

const ROOT = resolve(import.meta.dirname, '../..')
const { values: opt } = parseArgs({
  options: {
    binary: { type: 'string', default: resolve(ROOT, 'build/mepassa-bootstrap') },
    'bad-peer': { type: 'string', default: resolve(ROOT, 'build/tests/tools/mp-bad-peer') },
    minutes: { type: 'string', default: '5' },
    sample: { type: 'string', default: '5' }, // seconds between samples
    'churn-per-sec': { type: 'string', default: '2' },
    'max-churn': { type: 'string', default: '40' }, // churn clients alive at once
    'findnode-clients': { type: 'string', default: '4' },
    'attack-every': { type: 'string', default: '10' }, // seconds
    out: { type: 'string', default: 'soak-out' },
    env: { type: 'string', multiple: true, default: [] } // extra NAME=VALUE for the node
  }
})
const RUN_MS = Number(opt.minutes) * 60_000
const SAMPLE_MS = Number(opt.sample) * 1000
mkdirSync(opt.out, { recursive: true })

// ---- everything we start is stopped on every exit path ----
const children = new Set()
const dataDir = mkdtempSync(join(tmpdir(), 'mp-soak-'))
function killAll () {
  for (const c of children) { try { c.kill('SIGKILL') } catch {} }
  rmSync(dataDir, { recursive: true, force: true })
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130) })
const hard = setTimeout(() => { console.error('soak: hard deadline reached'); killAll(); process.exit(2) },
  RUN_MS + 180_000)
hard.unref()

// ---- the node ----
async function startNode () {
  const env = {
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    HEALTH_PORT: '0',
    HEALTH_BIND: '127.0.0.1',
    LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0',
    ALLOW_PRIVATE_ADDRS: 'true',
    RUST_LOG: 'info',
    // Every churn client comes from 127.0.0.1: per-IP limits sized for that.
    MAX_CONNECTIONS_PER_IP: '100000'
  }
  for (const kv of opt.env) { const i = kv.indexOf('='); env[kv.slice(0, i)] = kv.slice(i + 1) }
  const proc = spawn(opt.binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(proc)
  let out = ''
  let logBytes = 0
  const onData = (d) => { logBytes += d.length; if (out.length < 1 << 20) out += d.toString() }
  proc.stdout.on('data', onData)
  proc.stderr.on('data', onData)
  const t0 = Date.now()
  while (!(/Listening on (\S+\/p2p\/\S+)/.test(out) && /HTTP server listening on [\d.:[\]]+:(\d+)/.test(out))) {
    if (proc.exitCode !== null) throw new Error(`node exited:\n${out}`)
    if (Date.now() - t0 > 15000) throw new Error(`node did not start:\n${out}`)
    await sleep(50)
  }
  return {
    proc,
    addr: out.match(/Listening on (\S+\/p2p\/\S+)/)[1],
    httpPort: Number(out.match(/HTTP server listening on [\d.:[\]]+:(\d+)/)[1]),
    logBytes: () => logBytes
  }
}

async function metrics (node) {
  const res = await fetch(`http://127.0.0.1:${node.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) })
  const out = new Map()
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith('#') || line === '') continue
    const [name, value] = line.split(/ (?=[^ ]+$)/)
    const base = name.replace(/\{.*$/, '')
    out.set(base, (out.get(base) ?? 0) + Number(value))
  }
  return out
}

function fileSize (p) { try { return statSync(p).size } catch { return 0 } }

// ---- load ----
let stopping = false
const counts = { churned: 0, churnFailed: 0, findNodes: 0, findNodeFailed: 0, relayPings: 0, relayFailed: 0, attacks: 0 }

async function findNodeOnce (conn) {
  const stream = await conn.newStream(KAD)
  const reader = new StreamReader(stream)
  await send(stream, findNodeRequest())
  const n = countCloserPeers(await reader.readLengthPrefixed())
  await stream.close().catch(() => {})
  return n
}

async function churnOne (ma) {
  const client = await createClient({ listen: true })
  try {
    const conn = await client.dial(ma, { signal: AbortSignal.timeout(10000) })
    await findNodeOnce(conn)
    await sleep(2000 + Math.random() * 8000)
    counts.churned++
  } catch { counts.churnFailed++ } finally { await client.stop().catch(() => {}) }
}

async function churnLoop (ma) {
  const alive = new Set()
  const every = 1000 / Number(opt['churn-per-sec'])
  while (!stopping) {
    if (alive.size < Number(opt['max-churn'])) {
      const p = churnOne(ma).finally(() => alive.delete(p))
      alive.add(p)
    }
    await sleep(every)
  }
  await Promise.allSettled([...alive])
}

async function findNodeLoop (ma) {
  const client = await createClient()
  try {
    let conn = await client.dial(ma)
    while (!stopping) {
      try {
        await findNodeOnce(conn)
        counts.findNodes++
      } catch {
        counts.findNodeFailed++
        await sleep(500)
        conn = await client.dial(ma).catch(() => conn)
      }
      await sleep(20)
    }
  } finally { await client.stop().catch(() => {}) }
}

async function relayLoop (ma) {
  const l = await libp2pLibs()
  const { circuitRelayTransport } = await load('@libp2p/circuit-relay-v2')
  const relayPeer = (listen) => l.createLibp2p({
    addresses: { listen },
    transports: [l.tcp(), circuitRelayTransport()],
    connectionEncrypters: [l.noise()],
    streamMuxers: [l.yamux()],
    connectionManager: OPEN_LIMITS,
    connectionMonitor: { enabled: false },
    services: { identify: l.identify(), ping: l.ping() }
  })
  const a = await relayPeer(['/ip4/127.0.0.1/tcp/0', `${ma.toString()}/p2p-circuit`])
  try {
    let circuit
    for (let i = 0; i < 200 && !circuit && !stopping; i++) {
      circuit = a.getMultiaddrs().find(m => m.toString().includes('/p2p-circuit'))
      if (!circuit) await sleep(100)
    }
    while (!stopping && circuit) {
      const b = await relayPeer([])
      try {
        await b.services.ping.ping(circuit, { signal: AbortSignal.timeout(10000) })
        counts.relayPings++
      } catch { counts.relayFailed++ } finally { await b.stop().catch(() => {}) }
      await sleep(3000)
    }
  } finally { await a.stop().catch(() => {}) }
}

function badPeerScenarios () {
  try {
    execFileSync(opt['bad-peer'], [], { stdio: 'pipe' })
  } catch (e) {
    const usage = `${e.stdout ?? ''}${e.stderr ?? ''}`
    const m = usage.match(/scenarios:([\s\S]*?)(?:\nload:|$)/)
    const out = m ? m[1].split(/\s+/).filter(s => s && s !== 'wrong-peer-id' && /^[a-z-]+$/.test(s)).map(s => [s]) : []
    // Load scenarios take sizes: small bursts, so the soak samples the
    // node while it sheds them rather than a node held at its limits.
    for (const [name, args] of Object.entries(LOAD_ATTACKS)) {
      if (new RegExp(`^\\s*(?:load:)?\\s*${name} `, 'm').test(usage)) out.push([name, ...args])
    }
    return out
  }
  return []
}
const LOAD_ATTACKS = {
  'slow-reader': ['2', '64', '5'], // connections, streams each, seconds
  'identify-flood': ['4', '10', '5'], // connections, pushes each, seconds
  'half-open': ['4', '4', '5'] // source IPs, sockets each, seconds
}

async function attackLoop (node) {
  const scenarios = badPeerScenarios()
  if (scenarios.length === 0) { console.error('soak: no mp-bad-peer scenarios found; no attacks'); return }
  console.log(`soak: attacks in rotation: ${scenarios.map(s => s.join(' ')).join(', ')}`)
  const [host, port] = node.addr.match(/\/ip4\/([^/]+)\/tcp\/(\d+)/).slice(1)
  const peerId = node.addr.split('/p2p/')[1]
  for (let i = 0; !stopping; i++) {
    const [scenario, ...sizes] = scenarios[i % scenarios.length]
    const args = sizes.length ? [host, port, scenario, ...sizes] : [host, port, scenario, peerId]
    const p = spawn(opt['bad-peer'], args, { stdio: 'ignore' })
    children.add(p)
    const killer = setTimeout(() => p.kill('SIGKILL'), Number(opt['attack-every']) * 1000 * 3)
    await new Promise(resolve => p.on('exit', resolve))
    clearTimeout(killer)
    children.delete(p)
    counts.attacks++
    for (let t = 0; t < Number(opt['attack-every']) * 10 && !stopping; t++) await sleep(100)
  }
}

// ---- sampling ----
let peerIdFromString
function peerIdOf (ma) { return peerIdFromString(ma.toString().split('/p2p/').at(-1)) }

async function honestProbe (client, ma) {
  const t0 = performance.now()
  await client.services.ping.ping(ma, { signal: AbortSignal.timeout(10000) })
  const pingMs = performance.now() - t0
  const conn = client.getConnections(peerIdOf(ma))[0]
  if (!conn) throw new Error('no connection to the node')
  const t1 = performance.now()
  await findNodeOnce(conn)
  return { pingMs, findNodeMs: performance.now() - t1 }
}

async function main () {
  const l = await libp2pLibs()
  peerIdFromString = (await load('@libp2p/peer-id')).peerIdFromString
  const node = await startNode()
  const ma = l.multiaddr(node.addr)
  console.log(`soak: node ${node.addr}, ${opt.minutes} min, sample every ${opt.sample} s`)
  const honest = await createClient()
  await honest.dial(ma)
  const t0 = Date.now()
  const cpu0 = procStats(node.proc.pid).cpu
  const loops = [churnLoop(ma), relayLoop(ma), attackLoop(node)]
  for (let i = 0; i < Number(opt['findnode-clients']); i++) loops.push(findNodeLoop(ma))

  const header = 't_s,rss_mib,open_fds,connections,storage_queue,wal_kib,db_kib,ping_ms,findnode_ms,log_kib,cpu_s'
  const rows = [header]
  const samples = []
  let probeError
  while (Date.now() - t0 < RUN_MS) {
    await sleep(SAMPLE_MS)
    let probe = { pingMs: NaN, findNodeMs: NaN }
    try {
      probe = await honestProbe(honest, ma)
    } catch (e) {
      if (!probeError) { probeError = e.message; console.error(`soak: honest probe failed: ${e.message}`) }
      await honest.dial(ma).catch(() => {})
    }
    const m = await metrics(node).catch(() => new Map())
    const s = procStats(node.proc.pid)
    const sample = {
      t: (Date.now() - t0) / 1000,
      rssMiB: s.rss / 1048576,
      fds: readdirSync(`/proc/${node.proc.pid}/fd`).length,
      conns: m.get('mepassa_connections_current') ?? NaN,
      queue: m.get('mepassa_storage_queue_depth') ?? NaN,
      walKiB: fileSize(join(dataDir, 'dht.db-wal')) / 1024,
      dbKiB: fileSize(join(dataDir, 'dht.db')) / 1024,
      pingMs: probe.pingMs,
      findNodeMs: probe.findNodeMs,
      logKiB: node.logBytes() / 1024,
      cpu: s.cpu - cpu0
    }
    samples.push(sample)
    const row = [sample.t, sample.rssMiB, sample.fds, sample.conns, sample.queue, sample.walKiB, sample.dbKiB,
      sample.pingMs, sample.findNodeMs, sample.logKiB, sample.cpu].map(v => Number.isFinite(v) ? v.toFixed(2) : 'NaN')
    rows.push(row.join(','))
    process.stdout.write(`${row.join(',')}\n`)
  }
  stopping = true
  await Promise.allSettled(loops)
  await honest.stop().catch(() => {})
  node.proc.kill('SIGTERM')
  const exit = await Promise.race([new Promise(resolve => node.proc.on('exit', (code) => resolve(code))), sleep(10000).then(() => 'timeout')])

  writeFileSync(join(opt.out, 'samples.csv'), rows.join('\n') + '\n')
  // Growth after warm-up: the first fifth of the run is warm-up.
  const warm = samples.filter(s => s.t >= samples.at(-1).t / 5)
  const first = warm[0]; const last = warm.at(-1)
  const max = (k) => Math.max(...samples.map(s => s[k]).filter(Number.isFinite))
  const summary = {
    minutes: Number(opt.minutes),
    counts,
    node_exit: exit,
    rss_mib_after_warmup: first?.rssMiB, rss_mib_end: last?.rssMiB, rss_mib_max: max('rssMiB'),
    fds_after_warmup: first?.fds, fds_end: last?.fds,
    wal_kib_max: max('walKiB'),
    ping_ms_max: max('pingMs'), findnode_ms_max: max('findNodeMs'),
    log_kib_total: last?.logKiB, cpu_seconds: last?.cpu
  }
  writeFileSync(join(opt.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  console.log(JSON.stringify(summary, null, 2))
  plot()
}

function plot () {
  const csv = resolve(opt.out, 'samples.csv')
  const png = resolve(opt.out, 'soak.png')
  const script = `set datafile separator ','
set terminal pngcairo size 1400,1000 font ',10' noenhanced
set output '${png}'
set multiplot layout 3,2 title 'mepassa-bootstrap soak: churn, FIND_NODE, relay, attacks (${opt.minutes} min)'
set key top left
set xlabel 'seconds'
set grid
set title 'memory'; set ylabel 'MiB'; plot '${csv}' every ::1 using 1:2 with lines lw 2 title 'RSS'
set title 'open files and connections'; set ylabel 'count'; plot '${csv}' every ::1 using 1:3 with lines lw 2 title 'open fds', '' every ::1 using 1:4 with lines lw 2 title 'connections'
set title 'peer store'; set ylabel 'KiB'; set y2label 'updates'; set y2tics; plot '${csv}' every ::1 using 1:6 with lines lw 2 title 'WAL', '' every ::1 using 1:7 with lines lw 2 title 'dht.db', '' every ::1 using 1:5 axes x1y2 with lines title 'queue depth'
unset y2tics; unset y2label
set title 'honest peer latency'; set ylabel 'ms'; plot '${csv}' every ::1 using 1:8 with linespoints title 'ping', '' every ::1 using 1:9 with linespoints title 'FIND_NODE (new stream)'
set title 'log output'; set ylabel 'KiB'; plot '${csv}' every ::1 using 1:10 with lines lw 2 title 'log bytes'
set title 'node CPU'; set ylabel 'CPU seconds'; plot '${csv}' every ::1 using 1:11 with lines lw 2 title 'cumulative CPU'
unset multiplot
`
  const gp = join(opt.out, 'soak.gp')
  writeFileSync(gp, script)
  try {
    execFileSync('gnuplot', [gp], { stdio: 'inherit' })
    console.log(`soak: wrote ${png}`)
  } catch (e) {
    console.error(`soak: gnuplot failed (${e.message}); install Debian's gnuplot-nox. Data: ${csv}`)
  }
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })

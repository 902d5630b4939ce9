// One comparison run: the same C++ load (bench/loadgen, mp-loadgen) against
// our node and against a js-libp2p bootstrap server (bench/network/js-server.mjs:
// TCP, Noise, Yamux, Identify, Ping, kad-dht in server mode, private
// addresses kept, admission and per-protocol stream limits raised), each
// server pinned to one core with taskset and the load generator to the
// others. Prints one table: figure, ours, js, ratio; the headline is server
// CPU time per operation (read from /proc/<pid>/stat), the figure a busy
// shared machine distorts least. This machine's crypto bound (`mp-loadgen
// crypto`) is printed beside the setups figure. Ours runs twice: NETWORK_THREADS=1
// pinned like js, then NETWORK_THREADS=2 unpinned (its two network threads
// need both cores; the load generator shares them then) for the modes of
// --x2 (default: setups).
//
//   node --import ./tests/interop/polyfill.mjs bench/compare.mjs \
//     [--binary build/mepassa-bootstrap] [--loadgen build/bench/loadgen/mp-loadgen] \
//     [--duration 5] [--idle 1000]
//     [--only setups,findnode-new,findnode-reuse,idle,relay,quic-setups,quic-findnode-new,quic-findnode-reuse]
//     [--chunk 16384] [--out FILE] [--x2 setups|MODES|none] [--skip-half]
//
// Each FIND_NODE mode runs twice: as fast as answered, then paced at half
// the rate it reached (mp-loadgen --rate: open loop, latency counted from
// the scheduled send) for the latency of a node that is not saturated;
// --skip-half leaves the second run out.
//
// The relay mode (Circuit Relay v2: --conns listener/client pairs, CONNECT
// then chunk echoes through the server) runs both relays with their
// per-circuit limits out of the way: ours with RELAY_CIRCUIT_MAX_BYTES=0 and
// the other RELAY_* caps raised, js with applyDefaultLimit: false
// (js-server.mjs, MP_JS_RELAY=1).
//
// The quic-* modes run setups, findnode-new and findnode-reuse over QUIC v1:
// our node's QUIC listen address (on the TCP port's number), js's
// @chainsafe/libp2p-quic listener (js-server.mjs, MP_JS_QUIC=1). For a mode
// a server cannot take at the full load, --js-quic-concurrency and
// --js-quic-conns lower it for js's QUIC rows only (printed beside the table).
//
// Loopback only; stops by itself (--deadline seconds) and kills what it started.
// Not a test: nothing is asserted.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const ROOT = resolve(import.meta.dirname, '..')
const { values: opt } = parseArgs({
  options: {
    binary: { type: 'string', default: resolve(ROOT, 'build/mepassa-bootstrap') },
    loadgen: { type: 'string', default: resolve(ROOT, 'build/bench/loadgen/mp-loadgen') },
    duration: { type: 'string', default: '5' },
    idle: { type: 'string', default: '1000' },
    only: { type: 'string', default: 'setups,findnode-new,findnode-reuse,idle,relay,quic-setups,quic-findnode-new,quic-findnode-reuse' },
    'server-cpu': { type: 'string', default: '0' },
    'client-cpus': { type: 'string', default: '1' },
    'client-threads': { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
    conns: { type: 'string', default: '8' },
    inflight: { type: 'string', default: '4' },
    'js-quic-concurrency': { type: 'string' },
    'js-quic-conns': { type: 'string' },
    chunk: { type: 'string', default: '16384' },
    out: { type: 'string' },
    x2: { type: 'string', default: 'setups' },
    'skip-half': { type: 'boolean', default: false },
    'all-cpus': { type: 'string', default: '0,1' },
    deadline: { type: 'string', default: '600' }
  }
})
const modes = opt.only.split(',')
const children = new Set()
const tempDirs = new Set()
const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))

function cleanup () {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
}
const hardStop = setTimeout(() => { console.error('compare: deadline reached'); cleanup(); process.exit(3) },
  Number(opt.deadline) * 1000)
hardStop.unref()
process.on('SIGINT', () => { cleanup(); process.exit(130) })

async function freePort () {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
  })
}

// This core's crypto bound for a Noise XX responder, on the primitives the
// node calls (`mp-loadgen crypto`: X25519 through OpenSSL, Ed25519
// verification through libsodium): one ephemeral key pair, the ee, es, se
// agreements, the remote's payload signature checked (ours is signed once
// per process). openssl speed's Ed25519 is printed beside it for reference.
function cryptoBound () {
  const out = execFileSync('taskset', ['-c', '1', resolve(opt.loadgen), 'crypto', '--duration', '1'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  const r = JSON.parse(out.match(/^RESULT (.*)$/m)[1])
  let opensslVerify
  try {
    const text = execFileSync('openssl', ['speed', '-seconds', '1', 'ed25519'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    opensslVerify = Number(text.match(/Ed25519\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)/)[2])
  } catch { opensslVerify = undefined }
  return {
    x25519PerS: r.x25519_per_s,
    keygenPerS: r.x25519_keygen_per_s,
    ed25519VerifyPerS: r.ed25519_verify_per_s,
    opensslVerifyPerS: opensslVerify,
    setupsPerS: r.setups_per_s
  }
}

async function startOurs (threads = 1) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mp-compare-'))
  tempDirs.add(dataDir)
  const port = await freePort()
  const httpPort = await freePort()
  const env = {
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    LISTEN_ADDRS: `/ip4/127.0.0.1/tcp/${port},/ip4/127.0.0.1/udp/${port}/quic-v1`,
    HEALTH_PORT: String(httpPort),
    HEALTH_BIND: '127.0.0.1',
    ALLOW_PRIVATE_ADDRS: 'true',
    RUST_LOG: 'warn',
    MAX_CONNECTIONS: '100000',
    MAX_CONNECTIONS_PER_IP: '100000',
    MAX_CONNECTIONS_PER_PEER: '64',
    MAX_HANDSHAKES: '4096',
    MAX_HANDSHAKES_PER_IP: '1024',
    // Relay mode: no data cap per circuit, and room for every pair (all the
    // load comes from 127.0.1.x, one /24).
    RELAY_MAX_CIRCUITS: '100000',
    RELAY_MAX_PER_PEER: '1000',
    RELAY_MAX_PER_IP: '100000',
    RELAY_MAX_PER_SUBNET: '100000',
    RELAY_CIRCUIT_MAX_BYTES: '0',
    RELAY_CIRCUIT_DURATION_SECS: '3600',
    NETWORK_THREADS: String(threads)
  }
  const cpusOf = threads === 1 ? opt['server-cpu'] : opt['all-cpus']
  const proc = spawn('taskset', ['-c', cpusOf, resolve(opt.binary)],
    { env, stdio: ['ignore', 'ignore', 'inherit'] })
  children.add(proc)
  for (let i = 0; i < 100; i++) {
    await sleep(100)
    if (proc.exitCode !== null) throw new Error(`${opt.binary} exited with ${proc.exitCode}`)
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/health`, { signal: AbortSignal.timeout(500) })
      if (res.ok) {
        return {
          name: threads === 1 ? 'ours' : 'ours2', pid: proc.pid, proc, target: `/ip4/127.0.0.1/tcp/${port}`,
          quicTarget: `/ip4/127.0.0.1/udp/${port}/quic-v1`,
          httpPort, cpus: cpusOf, clientCpus: threads === 1 ? opt['client-cpus'] : opt['all-cpus'], threads
        }
      }
    } catch {}
  }
  throw new Error('our node did not answer /health')
}

async function startJs () {
  const polyfill = resolve(ROOT, 'tests/interop/polyfill.mjs')
  const proc = spawn('taskset', ['-c', opt['server-cpu'], process.execPath, '--import', polyfill,
    resolve(ROOT, 'bench/network/js-server.mjs')],
  {
    env: {
      ...process.env,
      MP_JS_RELAY: modes.includes('relay') ? '1' : '0',
      MP_JS_QUIC: modes.some(m => m.startsWith('quic-')) ? '1' : '0'
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  children.add(proc)
  const ready = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('js server did not start')), 30000)
    proc.on('message', (m) => { if (m.type === 'ready') { clearTimeout(t); resolve(m) } })
    proc.on('exit', (code) => reject(new Error(`js server exited with ${code}`)))
  })
  return {
    name: 'js', pid: proc.pid, proc, target: ready.addr.replace(/\/p2p\/.*/, ''), httpPort: 0,
    quicTarget: ready.quicAddr?.replace(/\/p2p\/.*/, ''),
    cpus: opt['server-cpu'], clientCpus: opt['client-cpus']
  }
}

async function stop (server) {
  server.proc.kill('SIGTERM')
  await Promise.race([new Promise(resolve => server.proc.once('exit', resolve)), sleep(8000)])
  if (server.proc.exitCode === null) server.proc.kill('SIGKILL')
}

// Runs mp-loadgen pinned to the client cores; resolves with its RESULT object.
// A quic-* mode is the same mode against the server's QUIC address.
function loadgen (server, mode, extra = []) {
  const quic = mode.startsWith('quic-')
  const jsQuic = quic && server.name === 'js'
  const args = [quic ? mode.slice('quic-'.length) : mode, '--target', quic ? server.quicTarget : server.target,
    '--pid', String(server.pid), '--threads', opt['client-threads'], '--duration', opt.duration,
    '--concurrency', (jsQuic && opt['js-quic-concurrency']) || opt.concurrency,
    '--conns', (jsQuic && opt['js-quic-conns']) || opt.conns, '--inflight', opt.inflight,
    '--idle', opt.idle, '--chunk', opt.chunk, ...extra]
  if (mode === 'idle' && server.httpPort) args.push('--health-port', String(server.httpPort))
  return new Promise((done, reject) => {
    const p = spawn('taskset', ['-c', server.clientCpus, resolve(opt.loadgen), ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] })
    children.add(p)
    let out = ''
    p.stdout.on('data', (d) => { out += d; process.stdout.write(`  [${server.name}] ${d}`) })
    p.on('exit', (code) => {
      children.delete(p)
      const m = out.match(/^RESULT (.*)$/m)
      if (!m) return reject(new Error(`mp-loadgen ${mode} against ${server.name} exited ${code} without a result`))
      done(JSON.parse(m[1]))
    })
  })
}

// Figures: [label, unit, pick(result) -> number, better: 'higher'|'lower'|'none' (no ratio)].
function findNodeFigures (how) {
  return [
    [`server CPU per FIND_NODE, ${how}`, 'us', r => r.server_cpu_us_per_op, 'lower'],
    [`FIND_NODE/server CPU-s, ${how}`, '/s', r => 1e6 / r.server_cpu_us_per_op, 'higher'],
    [`FIND_NODE/s (wall), ${how}`, '/s', r => r.ops_per_s, 'higher'],
    ...['p50', 'p99', 'p99.9'].map(p =>
      [`latency ${p}, ${how}`, 'us', r => r[`${p.replace('.', '')}_us`], 'lower']),
    [`closer peers per answer, ${how}`, '', r => r.closer_peers_per_answer, 'higher'],
    // The same load paced at half of the peak just measured (not with --skip-half).
    ...['p50', 'p99', 'p99.9'].map(p =>
      [`latency ${p} paced at half that rate, ${how}`, 'us', r => r.half?.[`${p.replace('.', '')}_us`], 'lower']),
    [`server CPU per FIND_NODE paced at half that rate, ${how}`, 'us', r => r.half?.server_cpu_us_per_op, 'lower'],
    // The generator's own share of its core while pacing: near 100, the
    // paced latencies above are mostly its own queueing (no ratio: the
    // generator is the same for both servers).
    [`load generator busy paced at half that rate, ${how}`, '% of a core',
      r => r.half?.client_cpu_s != null && r.half.seconds > 0 ? 100 * r.half.client_cpu_s / r.half.seconds : undefined, 'none']
  ]
}

function setupFigures (prefix) {
  return [
    [`${prefix}server CPU per setup`, 'us', r => r.server_cpu_us_per_op, 'lower'],
    [`${prefix}setups per server CPU-second`, '/s', r => 1e6 / r.server_cpu_us_per_op, 'higher'],
    [`${prefix}setups/s (wall)`, '/s', r => r.ops_per_s, 'higher'],
    // On this 2-core machine the load generator needs about as much CPU per
    // setup as the server, so wall throughput cannot show the server's
    // scaling; these two rows do: how many cores the server kept busy, and
    // what its cores deliver at its CPU cost per setup (T=1: one core).
    [`${prefix}server cores busy`, '', r => r.server_cpu_s / r.seconds, 'higher'],
    // (QUIC too: its inbound connections are spread over the network
    // threads like TCP's, the main thread keeping the socket.)
    [`${prefix}setups/s its cores deliver (cores x 1/CPU per setup)`, '/s',
      (r, threads) => threads * 1e6 / r.server_cpu_us_per_op, 'higher'],
    [`${prefix}setup latency p50`, 'us', r => r.p50_us, 'lower'],
    [`${prefix}setup latency p99`, 'us', r => r.p99_us, 'lower'],
    [`${prefix}setup latency p99.9`, 'us', r => r.p999_us, 'lower']
  ]
}

const FIGURES = {
  setups: setupFigures(''),
  'findnode-new': findNodeFigures('new stream'),
  'findnode-reuse': findNodeFigures('reused stream'),
  'quic-setups': setupFigures('QUIC '),
  'quic-findnode-new': findNodeFigures('QUIC, new stream'),
  'quic-findnode-reuse': findNodeFigures('QUIC, reused stream'),
  relay: [
    ['server CPU per circuit', 'us', r => r.circuit_server_cpu_us, 'lower'],
    ['circuits per server CPU-second', '/s', r => r.circuits_per_server_cpu_s, 'higher'],
    ['circuits/s (wall)', '/s', r => r.circuits_per_s, 'higher'],
    ['circuit setup p50', 'us', r => r.circuit_p50_us, 'lower'],
    ['circuit setup p99', 'us', r => r.circuit_p99_us, 'lower'],
    ['server CPU per relayed MiB', 'ms', r => r.server_cpu_s_per_relayed_mib * 1e3, 'lower'],
    ['relayed MiB per server CPU-second', 'MiB', r => 1 / r.server_cpu_s_per_relayed_mib, 'higher'],
    ['relayed MiB/s (wall, both directions)', 'MiB/s', r => r.relayed_mib_per_s, 'higher'],
    ['chunk echo latency p50', 'us', r => r.p50_us, 'lower'],
    ['chunk echo latency p99', 'us', r => r.p99_us, 'lower'],
    ['echo mismatches + errors', '', r => r.mismatches + r.errors, 'lower']
  ],
  idle: [
    ['RSS per idle connection', 'KiB', r => r.rss_per_conn_kib, 'lower'],
    ['idle connections held', '', r => r.connections_held, 'higher'],
    ['server CPU per idle connection setup', 'us', r => r.server_cpu_us_per_op, 'lower']
  ]
}

const sum = (r) => r == null ? undefined : (r.errors ?? 0) + (r.bad_answers ?? 0)
const jsQuicLowered = () => modes.some(m => m.startsWith('quic-')) &&
  (opt['js-quic-concurrency'] != null || opt['js-quic-conns'] != null)
const fmt = (v) => v == null || Number.isNaN(v) ? '-' : (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2))

async function main () {
  const started = new Date()
  console.log(`compare: ${cpus().length} cores (${cpus()[0].model}), load average ${loadavg().map(x => x.toFixed(1)).join(' ')}`)
  const crypto = cryptoBound()
  console.log(`crypto bound (one core, the node's primitives): X25519 key pairs ${crypto.keygenPerS.toFixed(0)}/s, ` +
    `agreements ${crypto.x25519PerS.toFixed(0)}/s, Ed25519 verify ${crypto.ed25519VerifyPerS.toFixed(0)}/s ` +
    `(openssl speed: ${crypto.opensslVerifyPerS?.toFixed(0) ?? '-'}/s) => ~${crypto.setupsPerS.toFixed(0)} responder handshakes/s`)
  const results = { ours: {}, ours2: {}, js: {} }
  const x2Modes = opt.x2 === 'none' ? [] : opt.x2.split(',').filter(m => modes.includes(m))
  const runs = [[() => startOurs(1), modes], [() => startOurs(2), x2Modes], [startJs, modes]]
  for (const [start, runModes] of runs) {
    if (runModes.length === 0) continue
    const server = await start()
    console.log(`== ${server.name} (pid ${server.pid}, ${server.target}, CPU ${server.cpus}` +
      `${server.threads ? `, NETWORK_THREADS=${server.threads}` : ''}; load generator on CPU ${server.clientCpus})`)
    for (const mode of runModes) {
      try {
        const r = await loadgen(server, mode)
        results[server.name][mode] = r
        // Latency when the node is not saturated: the same loops paced (open
        // loop, latency from the scheduled send) at half the rate it just did.
        if (!opt['skip-half'] && /findnode/.test(mode) && r.ops_per_s > 0) {
          r.half = await loadgen(server, mode, ['--rate', String(Math.max(1, Math.round(r.ops_per_s / 2)))])
        }
      } catch (e) {
        console.error(`  ${e.message}`)
      }
      if (mode === 'idle' && server.name === 'ours') {
        results.ours.health = results.ours.idle?.health_status
      }
    }
    await stop(server)
  }

  const rows = []
  for (const mode of modes) {
    for (const [label, unit, pick, better] of FIGURES[mode] ?? []) {
      const o = results.ours[mode] ? pick(results.ours[mode], 1) : undefined
      const j = results.js[mode] ? pick(results.js[mode], 1) : undefined
      const o2 = results.ours2[mode] ? pick(results.ours2[mode], 2) : undefined
      const ratioOf = (a, b) => better !== 'none' && a != null && b != null && a > 0 && b > 0 ? (better === 'higher' ? a / b : b / a) : undefined
      rows.push({ figure: unit ? `${label} (${unit})` : label, ours: o, ours2: o2, js: j, ratio: ratioOf(o, j), scaling: ratioOf(o2, o) })
    }
    if (mode === 'setups') {
      rows.push({ figure: '  crypto bound, responder setups/s on one core', ours: crypto.setupsPerS })
    }
    if (mode === 'idle') rows.push({ figure: '  /health status while held (ours)', ours: results.ours.idle?.health_status })
    const failures = ['ours', 'js'].map(n => results[n][mode]).filter(Boolean)
      .reduce((sum, r) => sum + (r.errors ?? 0) + (r.bad_answers ?? 0), 0)
    if (failures > 0) rows.push({ figure: `  failed operations + bad answers (${mode})`, ours: sum(results.ours[mode]), js: sum(results.js[mode]) })
  }
  const x = (v) => v == null ? ''.padStart(9) : (fmt(v) + 'x').padStart(9)
  console.log(`\n${'figure'.padEnd(52)} ${'ours'.padStart(11)} ${'js'.padStart(11)} ${'ratio'.padStart(9)}` +
    ` ${'ours T=2'.padStart(11)} ${'T=2/T=1'.padStart(9)}`)
  for (const r of rows) {
    if (r.ours == null && r.js == null) { console.log(r.figure); continue }
    console.log(`${r.figure.padEnd(52)} ${fmt(r.ours).padStart(11)} ${fmt(r.js).padStart(11)} ${x(r.ratio)}` +
      ` ${fmt(r.ours2).padStart(11)} ${x(r.scaling)}`)
  }
  console.log('(ours and js: NETWORK_THREADS=1, the server pinned to one core, the load generator on the other;' +
    '\n ours T=2: NETWORK_THREADS=2, server and load generator on both cores. ratio = ours vs js,' +
    '\n T=2/T=1 = ours at 2 threads vs 1, both > 1 when better; server CPU from /proc/<pid>/stat)')
  if (jsQuicLowered()) {
    console.log(`(js over QUIC at a lower load: --concurrency ${opt['js-quic-concurrency'] ?? opt.concurrency},` +
      ` --conns ${opt['js-quic-conns'] ?? opt.conns})`)
  }
  if (opt.out) {
    writeFileSync(opt.out, JSON.stringify({ date: started.toISOString(), crypto, results, rows }, null, 2))
  }
}

try {
  await main()
} finally {
  cleanup()
}

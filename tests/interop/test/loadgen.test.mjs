// The C++ load generator (bench/loadgen, mp-loadgen) against the real
// binary, briefly, over TCP and over QUIC: its answers must parse and carry
// peers, and the node's own counters must agree with what it reports, so a
// broken benchmark cannot look fast. Built with -DMP_BUILD_BENCH=ON (MP_LOADGEN overrides the path).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { startBootstrap, httpGet, waitFor } from '../lib/harness.mjs'

const LOADGEN = process.env.MP_LOADGEN ?? resolve(import.meta.dirname, '../../../build/bench/loadgen/mp-loadgen')

// Runs mp-loadgen to completion (killed after timeoutMs); its exit code and RESULT.
function loadgen (args, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const p = spawn(LOADGEN, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d) => { out += d })
    p.stderr.on('data', (d) => { out += d })
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.on('error', reject)
    p.on('exit', (code, signal) => {
      clearTimeout(timer)
      const m = out.match(/^RESULT (.*)$/m)
      resolve({ code, signal, out, result: m ? JSON.parse(m[1]) : null })
    })
  })
}

async function metric (node, re) {
  const res = await httpGet(node.httpPort, '/metrics')
  const m = res.text.match(re)
  return m ? Number(m[1]) : NaN
}

const FIND_NODES = /^mepassa_kad_requests_total\{type="find_node"\} (\d+)/m
const opened = (transport) =>
  new RegExp(`^mepassa_connections_opened_total\\{direction="inbound",transport="${transport}"\\} (\\d+)`, 'm')
const QUIC_ENV = { LISTEN_ADDRS: '/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0/quic-v1' }

function target (node, transport = 'tcp') {
  const prefix = transport === 'quic' ? '/ip4/127.0.0.1/udp/' : '/ip4/127.0.0.1/tcp/'
  return node.addrs.find(a => a.startsWith(prefix)).replace(/\/p2p\/.*/, '')
}

test('mp-loadgen is built', () => {
  assert.ok(existsSync(LOADGEN), `${LOADGEN} is missing: configure with -DMP_BUILD_BENCH=ON or set MP_LOADGEN`)
})

// The crypto bound compare.mjs prints beside the setups figure: rates of the
// node's own primitives, each checked (a failed agreement or verification
// exits non-zero), and a per-handshake cost that adds them up.
test('mp-loadgen crypto: the responder handshake bound from measured primitives', async () => {
  const { code, out, result } = await loadgen(['crypto', '--duration', '0.2'])
  assert.equal(code, 0, out)
  assert.ok(result, out)
  for (const k of ['x25519_keygen_per_s', 'x25519_per_s', 'ed25519_verify_per_s']) {
    assert.ok(result[k] > 0, `${k} ${result[k]}`)
  }
  const sum = 1e6 / result.x25519_keygen_per_s + 3e6 / result.x25519_per_s + 1e6 / result.ed25519_verify_per_s
  assert.ok(Math.abs(result.setup_us - sum) < 0.01, `${result.setup_us} vs ${sum}`)
  assert.ok(Math.abs(result.setups_per_s * result.setup_us - 1e6) < 1e3, out)
})

async function findNodeLoad (transport) {
  const node = await startBootstrap({ env: { RUST_LOG: 'info', ...(transport === 'quic' ? QUIC_ENV : {}) } })
  try {
    const seeds = 8
    for (const [round, mode] of ['findnode-new', 'findnode-reuse'].entries()) {
      const before = await metric(node, FIND_NODES)
      const { code, out, result } = await loadgen([mode, '--target', target(node, transport), '--pid', String(node.proc.pid),
        '--threads', '2', '--conns', '2', '--inflight', '2', '--seed', String(seeds), '--ops', '200',
        '--duration', '30', '--check-all', '--check'])
      assert.equal(code, 0, out)
      assert.equal(result.mode, mode)
      assert.equal(result.ops, 200, out)
      assert.equal(result.answers, 200)
      assert.equal(result.errors, 0, out)
      assert.equal(result.bad_answers, 0)
      assert.equal(result.answers_without_peers, 0)
      assert.equal(result.seed_peers_identified, seeds)
      // The seeds (of this run and the one before) are the only Kademlia
      // servers the node knows; the load connections do not advertise the
      // protocol. Each answer holds all of them (k = 20 at most).
      const table = await waitFor(async () => {
        const n = await metric(node, /^mepassa_routing_table_size (\d+)/m)
        return n >= seeds * (round + 1) ? n : 0
      }, { timeout: 5000, what: 'the seeds in the routing table' })
      assert.equal(result.closer_peers_per_answer, Math.min(20, table), out)
      assert.ok(result.p50_us > 0 && result.p50_us <= result.p99_us && result.p99_us <= result.p999_us)
      assert.ok(result.server_cpu_s >= 0)
      // The node counted at least as many FIND_NODE as the generator did
      // (its counters reach /metrics within a moment).
      await waitFor(async () => await metric(node, FIND_NODES) - before >= 200,
        { timeout: 5000, what: 'the node\'s find_node counter' })
    }
    // Every load connection came in over the transport asked for.
    await waitFor(async () => await metric(node, opened(transport)) >= 2 * (seeds + 2),
      { timeout: 5000, what: `the seeds' and clients' ${transport} connections counted` })
  } finally {
    await node.stop()
  }
}

test('FIND_NODE load: every answer parses and carries the seeded peers, on new and on reused streams', () => findNodeLoad('tcp'))
test('FIND_NODE load over QUIC: every answer parses and carries the seeded peers, on new and on reused streams', () => findNodeLoad('quic'))

async function setupsLoad (transport) {
  const node = await startBootstrap({ env: { RUST_LOG: 'info', ...(transport === 'quic' ? QUIC_ENV : {}) } })
  try {
    const { code, out, result } = await loadgen(['setups', '--target', target(node, transport), '--pid', String(node.proc.pid),
      '--threads', '2', '--concurrency', '4', '--ops', '24', '--duration', '30', '--check'])
    assert.equal(code, 0, out)
    assert.equal(result.ops, 24)
    assert.equal(result.identify_checked, 24)
    assert.equal(result.identify_served, 24)
    assert.equal(result.errors, 0)
    assert.ok(result.server_cpu_s > 0, 'the node spent CPU on 24 handshakes')
    // Its own CPU is reported too: 24 client handshakes cost it some.
    assert.ok(result.client_cpu_s > 0, `client_cpu_s ${result.client_cpu_s}`)
    await waitFor(async () => await metric(node, opened(transport)) >= 24,
      { timeout: 5000, what: `24 inbound ${transport} connections counted` })
  } finally {
    await node.stop()
  }
}

test('setups load: each connection is secured, identified both ways and counted', () => setupsLoad('tcp'))
test('setups load over QUIC: each connection is verified by TLS both ways, identified both ways and counted', () => setupsLoad('quic'))

test('idle load: connections from several source addresses are held while /health answers', async () => {
  const node = await startBootstrap({ env: { RUST_LOG: 'info' } })
  try {
    const { code, out, result } = await loadgen(['idle', '--target', target(node), '--pid', String(node.proc.pid),
      '--threads', '2', '--idle', '40', '--sources', '4', '--health-port', String(node.httpPort), '--check'])
    assert.equal(code, 0, out)
    assert.equal(result.connections_held, 40)
    assert.equal(result.health_status, 200)
    assert.ok(result.rss_held_kib > 0 && Number.isFinite(result.rss_per_conn_kib))
  } finally {
    await node.stop()
  }
})

const CIRCUITS = /^mepassa_relay_circuit_requests_total\{result="accepted"\} (\d+)/m
const RELAYED = /^mepassa_relay_circuit_bytes_total (\d+)/m

test('relay load: every echo comes back byte for byte, circuits are renewed at their limit, and the node counts the same circuits and bytes', async () => {
  // A 64 KiB data cap per circuit: the generator keeps each circuit under
  // half of it (8 echoes of 4 KiB) and must open new ones to go on.
  const node = await startBootstrap({ env: { RUST_LOG: 'info', RELAY_CIRCUIT_MAX_BYTES: '65536' } })
  try {
    const pairs = 3
    const chunk = 4096
    const ops = 60 // per part: 20 circuits, then 20 echoes, per client
    const circuits0 = await metric(node, CIRCUITS)
    const bytes0 = await metric(node, RELAYED)
    const { code, out, result } = await loadgen(['relay', '--target', target(node), '--pid', String(node.proc.pid),
      '--threads', '2', '--conns', String(pairs), '--chunk', String(chunk), '--ops', String(ops),
      '--duration', '30', '--check'])
    assert.equal(code, 0, out)
    assert.equal(result.mode, 'relay')
    assert.equal(result.errors, 0, out)
    assert.equal(result.reservations, pairs)
    assert.equal(result.mismatches, 0, out)
    assert.equal(result.bad_answers, 0)
    assert.equal(result.bad_stops, 0)
    assert.equal(result.circuits_opened, ops)
    assert.equal(result.ops, ops)
    assert.equal(result.relayed_bytes, 2 * chunk * ops)
    // 20 echoes per client on circuits of 8 echoes: 3 circuits, 2 retired at the cap.
    assert.equal(result.echo_circuits, 3 * pairs)
    assert.equal(result.circuits_retired, 2 * pairs)
    assert.equal(result.stops_served, result.circuits_total)
    assert.ok(result.p50_us > 0 && result.p50_us <= result.p99_us)
    assert.ok(result.server_cpu_s >= 0 && result.circuit_server_cpu_s >= 0)
    // The node saw the same circuits, and relayed exactly what was echoed, both ways.
    const circuits = await waitFor(async () => {
      const n = await metric(node, CIRCUITS) - circuits0
      return n >= result.circuits_total ? n : 0
    }, { timeout: 5000, what: 'the node\'s accepted circuits' })
    assert.equal(circuits, result.circuits_total)
    const relayed = await waitFor(async () => {
      const n = await metric(node, RELAYED) - bytes0
      return n >= 2 * result.echoed_bytes_total ? n : 0
    }, { timeout: 5000, what: 'the node\'s relayed bytes' })
    assert.equal(relayed, 2 * result.echoed_bytes_total)
    assert.equal(result.echoed_bytes_total, ops * 32 + ops * chunk)
  } finally {
    await node.stop()
  }
})

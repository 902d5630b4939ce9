// The operator endpoint (/health, /metrics) under a slowloris-style attack on
// the real node: sockets that trickle a request head, idle keep-alive
// connections, a burst past the connection cap and a burst of half-sent
// requests. /health must keep answering, and /metrics must show the
// defences at work (head and idle timeouts, evictions, refusals).
// Latency of /health is printed, not asserted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import http from 'node:http'
import { startBootstrap, createJsNode, waitFor, sleep } from '../lib/harness.mjs'

const SLOW = 64
const IDLE = 100
const HOLD_MS = 15000

function metricValue (text, name, labels = '') {
  const line = text.split('\n').find(l => l.startsWith(name + labels + ' '))
  return line === undefined ? undefined : Number(line.split(' ').pop())
}

// One GET on a fresh connection. Resolves { status, body, ms } or
// { error, ms }; never rejects, never waits more than timeoutMs.
function getOnce (port, path, timeoutMs = 10000) {
  const started = performance.now()
  return new Promise(resolve => {
    let timer
    const done = (r) => { clearTimeout(timer); resolve({ ...r, ms: performance.now() - started }) }
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', d => { body += d })
      res.on('end', () => done({ status: res.statusCode, body }))
      res.on('error', e => done({ error: e.message }))
    })
    // The whole exchange, connect included (a full accept queue stalls the
    // connect itself, which the request's own socket timeout does not cover).
    timer = setTimeout(() => req.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs)
    req.on('error', e => done({ error: e.message }))
  })
}

async function metrics (port) {
  const res = await waitFor(async () => {
    const r = await getOnce(port, '/metrics')
    return r.status === 200 ? r : null
  }, { timeout: 20000, interval: 200, what: '/metrics' })
  const get = (name, labels) => metricValue(res.body, name, labels) ?? NaN
  return {
    headTimeouts: get('mepassa_http_timeouts_total', '{phase="head"}'),
    idleTimeouts: get('mepassa_http_timeouts_total', '{phase="idle"}'),
    evicted: get('mepassa_http_connections_evicted_total'),
    refused: get('mepassa_http_connections_refused_total'),
    current: get('mepassa_http_connections'),
    rssKiB: Math.round(get('mepassa_process_resident_memory_bytes') / 1024)
  }
}

// Keeps `count` sockets open against the port, reopening any the server
// closes, each driven by `drive(socket)`. stop() closes them all.
function holdSockets (port, count, drive) {
  const sockets = new Set()
  let stopped = false
  let closedByServer = 0
  const open = () => {
    if (stopped) return
    const s = net.connect({ host: '127.0.0.1', port })
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => {
      sockets.delete(s)
      if (stopped) return
      closedByServer++
      setTimeout(open, 50)
    })
    s.on('connect', () => drive(s))
  }
  for (let i = 0; i < count; i++) open()
  return {
    get closedByServer () { return closedByServer },
    stop () {
      stopped = true
      for (const s of sockets) s.destroy()
      sockets.clear()
    }
  }
}

// Sends a request head one byte every 2 s: never complete within 5 s.
function trickle (s) {
  const head = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(1000)
  let i = 0
  const timer = setInterval(() => {
    if (s.destroyed || i >= head.length) return clearInterval(timer)
    s.write(head[i++])
  }, 2000)
  s.on('close', () => clearInterval(timer))
  s.write(head[i++])
}

// One request, then the connection stays open and silent (kept alive).
function idleKeepAlive (s) {
  s.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  s.on('data', () => {})
}

function summary (samples) {
  const ms = samples.map(r => r.ms).sort((a, b) => a - b)
  const pick = q => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))].toFixed(1)
  return `n=${ms.length} min=${pick(0)} median=${pick(0.5)} max=${pick(1)} ms`
}

test('/health answers while slow, idle and excess HTTP clients are held', async (t) => {
  const node = await startBootstrap()
  const port = node.httpPort
  const holders = []
  const extra = []
  const js = await createJsNode({ listen: false })
  try {
    const before = await metrics(port)
    t.diagnostic(`before: ${JSON.stringify(before)}`)

    // Phase 1: 64 trickling heads and 100 idle keep-alive connections, held
    // (reopened whenever the server cuts one off) for HOLD_MS.
    holders.push(holdSockets(port, SLOW, trickle))
    holders.push(holdSockets(port, IDLE, idleKeepAlive))
    await sleep(500) // let the attack connect before the first probe
    const probes = []
    const heldUntil = Date.now() + HOLD_MS
    while (Date.now() < heldUntil) {
      probes.push(await getOnce(port, '/health'))
      await sleep(1000)
    }
    // The libp2p side is untouched by all this.
    const rtt = await js.services.ping.ping(node.multiaddr)
    t.diagnostic(`/health under ${SLOW} slow + ${IDLE} idle sockets: ${summary(probes)}`)
    for (const p of probes) {
      assert.equal(p.error, undefined, `a /health probe failed: ${p.error}`)
      assert.equal(p.status, 200)
      assert.equal(JSON.parse(p.body).status, 'OK')
    }
    assert.ok(probes.length >= 5, `only ${probes.length} probes answered in ${HOLD_MS} ms`)
    assert.ok(rtt >= 0)
    const held = await metrics(port)
    t.diagnostic(`after phase 1: ${JSON.stringify(held)}`)
    assert.ok(held.headTimeouts - before.headTimeouts >= SLOW, 'every trickling head was cut off')
    assert.ok(held.idleTimeouts - before.idleTimeouts >= IDLE, 'every idle connection was closed')
    assert.ok(holders[0].closedByServer >= SLOW && holders[1].closedByServer >= IDLE)
    assert.ok(held.current <= 256, `connections ${held.current} over the cap`)

    // Phase 2: 300 more silent connections at once, beyond the cap of 256:
    // the connections idle longest give way, and /health still answers.
    const connected = []
    for (let i = 0; i < 300; i++) {
      const s = net.connect({ host: '127.0.0.1', port })
      s.on('error', () => {})
      connected.push(new Promise(resolve => { s.on('connect', resolve); s.on('close', resolve) }))
      extra.push(s)
    }
    // All in the accept queue: later connections (the probes) come after them.
    await Promise.all(connected)
    await waitFor(async () => (await metrics(port)).evicted > held.evicted,
      { timeout: 20000, interval: 200, what: 'evictions' })
    const duringBurst = []
    for (let i = 0; i < 5; i++) duringBurst.push(await getOnce(port, '/health'))
    t.diagnostic(`/health during a burst past the cap: ${summary(duringBurst)}`)
    for (const p of duringBurst) {
      assert.equal(p.error, undefined, `a /health probe failed: ${p.error}`)
      assert.equal(p.status, 200)
      JSON.parse(p.body)
    }
    for (const s of extra.splice(0)) s.destroy()

    // Phase 3: the idle attacker leaves and half-sent requests pour in, one
    // after the other. Busy connections cannot be evicted, so once the cap
    // is full of them the newest are refused (reset at once, counted) until
    // the request deadline frees slots again.
    holders[1].stop()
    let resets = 0
    for (let i = 0; i < 600 && resets < 20; i++) {
      await new Promise(resolve => {
        const s = net.connect({ host: '127.0.0.1', port }, () => s.write('GET /health HTTP/1.1\r\n', resolve))
        s.on('error', (e) => { if (e.code === 'ECONNRESET') resets++; resolve() })
        s.on('close', resolve)
        extra.push(s)
      })
    }
    const after = await waitFor(async () => {
      const m = await metrics(port)
      return m.refused > held.refused ? m : null
    }, { timeout: 30000, interval: 200, what: 'refusals' })
    t.diagnostic(`half-sent requests: ${extra.length} opened, ${resets} reset by the server`)
    t.diagnostic(`after phase 3: ${JSON.stringify(after)}`)
    const recovered = await waitFor(async () => {
      const r = await getOnce(port, '/health')
      return r.status === 200 ? r : null
    }, { timeout: 30000, interval: 100, what: '/health after the burst of half-sent requests' })
    assert.equal(JSON.parse(recovered.body).status, 'OK')
  } finally {
    for (const h of holders) h.stop()
    for (const s of extra) s.destroy()
    await js.stop()
    await node.stop()
  }
})

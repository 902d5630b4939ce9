// The status page (/ on HEALTH_PORT) in headless Chromium against the real
// node with js-libp2p peers: the numbers it shows match /health and
// /metrics, a peer's hostile agent string is shown as text (no element, no
// script, no alert), the page fits a phone screen, and a screenshot is saved
// (MP_STATUS_SCREENSHOT, default in the temp dir; docs/status-page.png is
// one). Then the page and /api/status keep answering under connection
// churn, and HTTP_DASHBOARD=false turns them into 404.
import test from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBootstrap, createJsNode, httpGet, waitFor } from '../lib/harness.mjs'
import { browserMissing, startBrowser } from '../lib/browser.mjs'

const EVIL = '<img src=x onerror=alert(1)>'

function metric (text, name) {
  let sum = 0
  let found = false
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) {
    sum += Number(m[1])
    found = true
  }
  assert.ok(found, `${name} not in /metrics`)
  return sum
}

// What the page shows, read from the DOM (textContent only).
function readPage () {
  const t = (id) => document.getElementById(id).textContent
  return {
    updates: Number(document.body.dataset.updates || 0),
    health: t('health-status'),
    peerId: t('peer-id'),
    addrs: [...document.querySelectorAll('#listen-addrs code')].map(e => e.textContent),
    total: t('conn-total'),
    inbound: t('conn-inbound'),
    peerCount: t('peer-count'),
    rtSize: t('rt-size'),
    bucketsUsed: t('rt-buckets-used'),
    bucketBars: document.querySelectorAll('#rt-chart rect').length,
    storePeers: t('store-peers'),
    relay: t('relay-reservations'),
    agents: [...document.querySelectorAll('#events td.agent')].map(e => e.textContent),
    eventRows: document.querySelectorAll('#events tr').length,
    images: document.querySelectorAll('img').length,
    chartLines: document.querySelectorAll('#conn-chart .line-in, #conn-chart .line-out').length,
    overflow: document.documentElement.scrollWidth - window.innerWidth
  }
}

test('the status page shows live data that matches /health and /metrics, and escapes peer strings',
  { skip: browserMissing() ?? false, timeout: 90000 }, async () => {
    const node = await startBootstrap()
    const peers = []
    let browser
    try {
      for (const agent of [EVIL, 'js-peer/1.0 "quoted" & <b>bold</b>', 'plain-agent/2']) {
        const p = await createJsNode({ config: { nodeInfo: { userAgent: agent } } })
        await p.dial(node.multiaddr)
        peers.push(p)
      }
      // Steady state: three identified peers, in the routing table.
      await waitFor(async () => {
        const h = JSON.parse((await httpGet(node.httpPort, '/health')).text)
        return h.peer_count === 3 && h.routing_table_size === 3
      }, { timeout: 20000, what: 'three peers connected and in the routing table' })

      browser = await startBrowser()
      await browser.go(`http://127.0.0.1:${node.httpPort}/`)
      const first = await waitFor(async () => {
        const p = await browser.run(readPage.toString())
        return p.updates >= 1 && p.agents.includes(EVIL) ? p : null
      }, { timeout: 20000, interval: 250, what: 'the page to show the evil agent' })
      assert.ok(first.updates >= 1)

      // Read /health and /metrics, then let the page refresh twice past them.
      const health = JSON.parse((await httpGet(node.httpPort, '/health')).text)
      const metrics = (await httpGet(node.httpPort, '/metrics')).text
      await waitFor(async () => (await browser.run(readPage.toString())).updates >= first.updates + 2,
        { timeout: 15000, interval: 250, what: 'two more page refreshes' })
      const page = await browser.run(readPage.toString())

      assert.equal(page.health, health.status)
      assert.equal(page.peerId, health.peer_id)
      assert.deepEqual(page.addrs, health.listen_addrs)
      assert.equal(Number(page.peerCount), health.peer_count)
      assert.equal(Number(page.total), metric(metrics, 'mepassa_connections_current'))
      assert.equal(Number(page.total), 3)
      assert.equal(Number(page.inbound), 3)
      assert.equal(Number(page.rtSize), health.routing_table_size)
      assert.equal(Number(page.rtSize), metric(metrics, 'mepassa_routing_table_size'))
      assert.ok(Number(page.bucketsUsed) >= 1)
      assert.equal(page.bucketBars, 512) // 256 buckets, bar and baseline each
      assert.equal(Number(page.storePeers), health.storage.total_peers)
      assert.match(page.relay, /^\d+ \/ 100$/)
      assert.equal(page.chartLines, 2)

      // Peer strings are text: the exact strings are shown, nothing was parsed.
      assert.ok(page.agents.includes(EVIL), `agents shown: ${JSON.stringify(page.agents)}`)
      assert.ok(page.agents.includes('js-peer/1.0 "quoted" & <b>bold</b>'))
      assert.equal(page.images, 0, 'an <img> element was created from peer data')
      assert.equal(await browser.run('function () { return document.querySelectorAll("#events b").length }'), 0)
      assert.equal(await browser.openAlert(), null, 'an alert dialog is open')
      assert.ok(page.overflow <= 0, `page wider than the window by ${page.overflow}px`)

      const shot = process.env.MP_STATUS_SCREENSHOT ?? join(tmpdir(), 'mepassa-status-page.png')
      const png = await browser.screenshot()
      assert.equal(png.subarray(1, 4).toString(), 'PNG')
      writeFileSync(shot, png)
      console.log(`status page screenshot: ${shot}`)

      // Phone-sized: nothing wider than the screen.
      await browser.resize(390, 844)
      const phone = await waitFor(async () => {
        const p = await browser.run(readPage.toString())
        return p.updates > page.updates ? p : null
      }, { timeout: 15000, interval: 250, what: 'a refresh at phone size' })
      assert.ok(phone.overflow <= 0, `phone: page wider than the screen by ${phone.overflow}px`)
      assert.equal(await browser.openAlert(), null)
    } finally {
      if (browser) await browser.close()
      for (const p of peers) await p.stop()
      await node.stop()
    }
  })

// One TCP connection that closes at once (half of them after a garbage
// byte): the node accepts, fails the handshake, counts it.
function shortConnection (port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.setTimeout(5000, () => s.destroy())
    s.on('connect', () => { if (Math.random() < 0.5) s.write('x'); s.end() })
    s.on('close', resolve)
    s.on('error', () => {})
  })
}

test('the page and /api/status keep answering under connection churn', { timeout: 90000 }, async () => {
  const node = await startBootstrap()
  const port = Number(node.addrs[0].match(/\/tcp\/(\d+)/)[1])
  try {
    // 15 rounds of 20 raw TCP connections (closed at once, half after a
    // garbage byte) and one js-libp2p peer that connects and leaves, while
    // the page's files and /api/status are fetched in a loop.
    let churned = false
    const churn = (async () => {
      for (let round = 0; round < 15; round++) {
        const raw = Array.from({ length: 20 }, () => shortConnection(port))
        const js = await createJsNode({ listen: false })
        try { await js.dial(node.multiaddr) } catch {}
        await js.stop()
        await Promise.all(raw)
      }
      churned = true
    })()

    const statuses = []
    const paths = ['/', '/status.js', '/status.css', '/api/status']
    for (let i = 0; (!churned || i < 120) && i < 5000; i++) {
      const path = paths[i % paths.length]
      const r = await httpGet(node.httpPort, path)
      statuses.push(r.status)
      if (path === '/api/status') assert.ok(JSON.parse(r.text).events.length <= 50)
    }
    await churn
    console.log(`${statuses.length} requests during the churn`)
    assert.ok(statuses.length >= 120)
    assert.deepEqual(statuses.filter(s => s !== 200), [], 'every request answered 200')
    const m = (await httpGet(node.httpPort, '/metrics')).text
    const opened = [...m.matchAll(/^mepassa_connections_opened_total\{[^}]*\} (\d+)$/gm)].reduce((a, x) => a + Number(x[1]), 0)
    assert.ok(opened >= 15, `only ${opened} connections established`)

    // Connection events still arrive after the churn: a peer's connect
    // (with its agent, once identified) and its disconnect.
    const last = await createJsNode({ listen: false, config: { nodeInfo: { userAgent: 'after-churn/1' } } })
    await last.dial(node.multiaddr)
    const id = last.peerId.toString()
    const events = async () => JSON.parse((await httpGet(node.httpPort, '/api/status')).text).events
    await waitFor(async () => (await events()).some(e => e.peer_id === id && e.kind === 'connect' && e.agent === 'after-churn/1'),
      { timeout: 10000, what: 'the connect event with its agent' })
    await last.stop()
    const after = await waitFor(async () => {
      const ev = await events()
      return ev.some(e => e.peer_id === id && e.kind === 'disconnect' && e.agent === 'after-churn/1') ? ev : null
    }, { timeout: 10000, what: 'the disconnect event' })
    assert.ok(after.length <= 50)
  } finally {
    await node.stop()
  }
})

test('HTTP_DASHBOARD=false: the page is 404, /health and /metrics still answer', { timeout: 30000 }, async () => {
  const node = await startBootstrap({ env: { HTTP_DASHBOARD: 'false' } })
  try {
    for (const path of ['/', '/status.js', '/status.css', '/api/status']) {
      assert.equal((await httpGet(node.httpPort, path)).status, 404, path)
    }
    assert.equal((await httpGet(node.httpPort, '/health')).status, 200)
    assert.equal((await httpGet(node.httpPort, '/metrics')).status, 200)
  } finally {
    await node.stop()
  }
})

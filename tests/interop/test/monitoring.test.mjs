// The Prometheus rules and the Grafana dashboard that ship in packaging/:
// promtool accepts the rules and their unit tests (each alert fires on the
// series that should trigger it), promtool accepts a real /metrics scrape of
// our node, and every metric the rules and the dashboard query exists in that
// scrape (so a renamed metric cannot silently blank a panel or an alert).
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { startBootstrap, createJsNode, httpGet } from '../lib/harness.mjs'

const PACKAGING = resolve(import.meta.dirname, '../../../packaging')
const RULES = resolve(PACKAGING, 'prometheus/mepassa-bootstrap.rules.yml')
const DASHBOARD = resolve(PACKAGING, 'grafana/mepassa-bootstrap.json')

function promtool (args, input) {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', cwd: resolve(PACKAGING, 'prometheus'), timeout: 60000 })
  if (r.error) throw new Error(`promtool: ${r.error.message} (Debian package prometheus)`)
  return { code: r.status, out: `${r.stdout}${r.stderr}` }
}

// Metric families a PromQL text uses (mepassa_* only; histogram series map
// to their family).
function familiesIn (text) {
  const names = new Set()
  for (const m of text.matchAll(/\bmepassa_[a-z0-9_]+/g)) names.add(m[0].replace(/_(bucket|sum|count)$/, ''))
  return names
}

test('promtool accepts the rules, and their unit tests pass', () => {
  const check = promtool(['check', 'rules', RULES])
  assert.equal(check.code, 0, check.out)
  assert.match(check.out, /SUCCESS: \d+ rules found/)
  const unit = promtool(['test', 'rules', 'tests.yml'])
  assert.equal(unit.code, 0, unit.out)
})

test('a real scrape passes promtool check metrics and has every metric the rules and dashboard use', async () => {
  const node = await startBootstrap()
  const peer = await createJsNode()
  try {
    await peer.services.ping.ping(node.multiaddr)
    const { status, text } = await httpGet(node.httpPort, '/metrics')
    assert.equal(status, 200)
    const lint = promtool(['check', 'metrics'], text)
    assert.equal(lint.code, 0, lint.out)

    const scraped = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map(m => m[1]))
    assert.ok(scraped.size > 20, `only ${scraped.size} families scraped`)
    const exprs = [...readFileSync(RULES, 'utf8').matchAll(/^\s+expr: (.*)$/gm)].map(m => m[1])
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'))
    for (const p of dashboard.panels) for (const t of p.targets ?? []) exprs.push(t.expr)
    assert.ok(exprs.length > 30, `only ${exprs.length} expressions found`)
    const used = familiesIn(exprs.join('\n'))
    const missing = [...used].filter(n => !scraped.has(n))
    assert.deepEqual(missing, [], `queried but not exported: ${missing.join(', ')}`)
  } finally {
    await peer.stop()
    await node.stop()
  }
})

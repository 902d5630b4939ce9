// Bad input costs nothing else: each misbehaving connection is closed with a
// logged reason, the process keeps running, and a js-libp2p peer connected
// before (and one connecting after) is served normally.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startBootstrap, createJsNode, waitFor, BAD_PEER } from '../lib/harness.mjs'

const run = promisify(execFile)
let node
let early
before(async () => {
  node = await startBootstrap()
  early = await createJsNode()
  await early.services.ping.ping(node.multiaddr)
})
after(async () => {
  await early?.stop()
  await node?.stop()
})

const scenarios = [
  ['garbage', /handshake failed|closed during multistream handshake/],
  ['oversized-multistream', /exceeds the limit/],
  ['truncated-noise', /failed at noise|during noise handshake/],
  ['forged-noise', /noise.*signature/i],
  ['oversized-yamux', /yamux|frame/i],
  // A Yamux receive-window overflow cannot be forced deterministically from
  // outside: our handlers consume data as it arrives and a stream we reset
  // drops later frames. tests/unit/yamux covers it with a raw peer.
  ['stream-reuse', /stream id|reuse|already/i]
]

for (const [scenario, logPattern] of scenarios) {
  test(`bad peer: ${scenario}`, async () => {
    const port = node.multiaddr.toString().split('/')[4]
    const logStart = node.logs().length
    const { stdout } = await run(BAD_PEER, ['127.0.0.1', port, scenario], { timeout: 20000 })
    assert.match(stdout, /node closed the connection/)
    // The reason is logged, after this scenario started (an earlier
    // scenario's line must not satisfy it).
    await waitFor(() => logPattern.test(node.logs().slice(logStart)), { what: `log for ${scenario} mentions ${logPattern}` })
    // The peer connected before is still served on its existing connection.
    const rtt = await early.services.ping.ping(node.multiaddr)
    assert.ok(rtt >= 0)
    assert.equal(node.proc.exitCode, null)
  })
}

test('bad peer: our dialer refuses a node whose peer id is not the expected one', async () => {
  const port = node.multiaddr.toString().split('/')[4]
  const { stdout } = await run(BAD_PEER, ['127.0.0.1', port, 'wrong-peer-id'], { timeout: 20000 })
  assert.match(stdout, /handshake refused: .*does not match/)
})

test('a js peer connecting after all the abuse is served normally', async () => {
  const late = await createJsNode()
  try {
    assert.ok(await late.services.ping.ping(node.multiaddr) >= 0)
    assert.equal(node.proc.exitCode, null)
  } finally {
    await late.stop()
  }
})

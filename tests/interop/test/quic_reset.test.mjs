// Stateless Reset after a restart against js-libp2p's QUIC transport
// (@chainsafe/libp2p-quic 2.1.1, issue 14): a js peer connected over QUIC
// to our node; the node is killed with SIGKILL and started again with the
// same DATA_DIR (same identity) on the same UDP port. The js peer's next
// ping over its old connection fails and the connection closes long before
// its idle timeout: the restarted node answered with a Stateless Reset
// under the token the first process gave, and counts it on /metrics.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { peerIdFromString } from '@libp2p/peer-id'
import { startBootstrap, waitFor, httpGet, tempDir } from '../lib/harness.mjs'
import { quicNode, quicAddrOf, udpPortOf } from '../lib/quic_client.mjs'

// Far beyond the waits below: only a reset can close the connection in time.
const IDLE_TIMEOUT_MS = 120000

async function metric (node, name, label, value) {
  const { text } = await httpGet(node.httpPort, '/metrics')
  const m = text.match(new RegExp(`^${name}\\{${label}="${value}"\\} (\\d+)$`, 'm'))
  assert.ok(m, `${name}{${label}="${value}"} on /metrics`)
  return Number(m[1])
}

test('a js QUIC peer of a node killed and restarted with the same identity is reset at once', async () => {
  const dir = tempDir()
  let first
  let second
  let js
  try {
    first = await startBootstrap({ dataDir: dir, env: { LISTEN_ADDRS: '/ip4/127.0.0.1/udp/0/quic-v1' } })
    const quicAddr = quicAddrOf(first)
    const port = udpPortOf(quicAddr)

    js = await quicNode({ quicOptions: { maxIdleTimeout: IDLE_TIMEOUT_MS, keepAliveInterval: 60000 } })
    assert.ok(await js.services.ping.ping(quicAddr) >= 0)
    const conns = js.getConnections(peerIdFromString(first.peerId))
    assert.equal(conns.length, 1)
    const conn = conns[0]

    first.proc.kill('SIGKILL')
    await first.exited
    second = await startBootstrap({
      dataDir: dir,
      env: { LISTEN_ADDRS: `/ip4/127.0.0.1/udp/${port}/quic-v1` }
    })
    assert.equal(second.peerId, first.peerId)
    assert.ok(second.addrs.some(a => a.includes(`/udp/${port}/quic-v1/`)), `${second.addrs}`)

    // A new stream on the old connection: its first packet reaches the
    // restarted node, which does not know the connection.
    await assert.rejects(conn.newStream('/ipfs/ping/1.0.0'))
    await waitFor(() => conn.status === 'closed', { timeout: 15000, what: 'the old connection closed' })
    assert.ok(await metric(second, 'mepassa_quic_stateless_packets_sent_total', 'type', 'stateless_reset') >= 1)
  } finally {
    await js?.stop()
    await second?.stop()
    if (first && first.proc.exitCode === null && first.proc.signalCode === null) first.proc.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

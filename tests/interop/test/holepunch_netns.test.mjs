// A real hole punch through our relay. Two js-libp2p peers, each in its own
// network namespace behind its own NAT (lib/netns.mjs: nftables masquerade,
// unsolicited inbound dropped), both reserve on our node (Circuit Relay v2)
// in the outer namespace; A dials B through the circuit, DCUtR runs over it
// and the TCP simultaneous open through both NATs gives A a direct
// connection to B's NAT address. Needs root, iproute2 and nftables (CI has
// all three); elsewhere the test is skipped and says why.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createInterface } from 'node:readline'
import { resolve } from 'node:path'
import { startBootstrap, waitFor } from '../lib/harness.mjs'
import { createNatTopology, netnsUnavailable } from '../lib/netns.mjs'

const unavailable = netnsUnavailable()
const INTEROP = resolve(import.meta.dirname, '..')
const RELAY_PORT = 4001
const PORT = { A: 40001, B: 40002 }

// A js peer in a namespace, driven over JSON lines (lib/netns_peer.mjs).
function startPeer (topo, name) {
  const proc = topo.spawnIn(topo.ns[`home${name}`], process.execPath,
    ['--import', './polyfill.mjs', 'lib/netns_peer.mjs'],
    { cwd: INTEROP, env: { ...process.env, DEBUG: 'libp2p:dcutr*' }, stdio: ['pipe', 'pipe', 'pipe'] })
  const events = []
  let stderr = ''
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try { events.push(JSON.parse(line)) } catch { stderr += `${line}\n` }
  })
  proc.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise(resolve => proc.on('exit', resolve))
  return {
    name,
    events,
    log: () => stderr,
    send: (cmd) => proc.stdin.write(JSON.stringify(cmd) + '\n'),
    event: (pred, what, timeout = 15000) => waitFor(() => {
      const err = events.find(e => e.ev === 'error')
      if (err) throw new Error(`peer ${name}: ${err.message}`)
      if (proc.exitCode !== null) throw new Error(`peer ${name} exited (${proc.exitCode}):\n${stderr}`)
      return events.find(pred)
    }, { timeout, what: `peer ${name}: ${what}` }),
    async stop () {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await exited
    }
  }
}

function metrics (topo, relay) {
  return topo.exec(topo.ns.pub, 'curl', ['-sS', '-m', '5', `http://127.0.0.1:${relay.httpPort}/metrics`])
}
function metric (text, name, labels = '') {
  const m = text.match(new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm'))
  return m ? Number(m[1]) : NaN
}

test('DCUtR through our relay punches a direct TCP connection between two peers behind different NATs',
  { skip: unavailable ? `hole punching test skipped: ${unavailable}` : false, timeout: 60000 }, async (t) => {
    const topo = createNatTopology()
    const peers = []
    let relay
    // Processes first (a namespace is only freed once nothing runs in it).
    t.after(async () => {
      for (const p of peers) await p.stop()
      await relay?.stop()
      topo.destroy()
    })
    // The peers load their modules while our node starts.
    peers.push(startPeer(topo, 'A'), startPeer(topo, 'B'))
    const [a, b] = peers
    relay = await startBootstrap({
      netns: topo.ns.pub,
      env: { LISTEN_ADDRS: `/ip4/${topo.relayIp}/tcp/${RELAY_PORT}`, HEALTH_BIND: '127.0.0.1' }
    })
    const relayAddr = `/ip4/${topo.relayIp}/tcp/${RELAY_PORT}/p2p/${relay.peerId}`
    try {
      for (const p of peers) {
        await p.event(e => e.ev === 'loaded', 'modules loaded', 30000)
        p.send({ op: 'start', relay: relayAddr, port: PORT[p.name] })
      }
      const ready = {}
      for (const p of peers) ready[p.name] = await p.event(e => e.ev === 'ready', 'reserved on our relay')
      // Our node saw each peer at its NAT's address and the peer's own port:
      // the NATs keep ports, which is what makes the punch possible.
      for (const n of ['A', 'B']) {
        assert.equal(ready[n].observed.split('/p2p/')[0], `/ip4/${topo.natIp[n]}/tcp/${PORT[n]}`,
          `our identify reports ${n}'s NAT address`)
        assert.ok(ready[n].circuit.startsWith(`${relayAddr}/p2p-circuit/p2p/${ready[n].peerId}`), ready[n].circuit)
      }
      await relay.waitForLog(new RegExp(`relay: new reservation for ${ready.A.peerId}`))
      await relay.waitForLog(new RegExp(`relay: new reservation for ${ready.B.peerId}`))

      a.send({ op: 'dial', addr: ready.B.circuit })
      const dialed = await a.event(e => e.ev === 'dialed', 'relayed connection to B')
      assert.match(dialed.addr, /\/p2p-circuit\//)
      assert.equal(dialed.limited, true)
      await relay.waitForLog(new RegExp(`relay: circuit ${ready.A.peerId} -> ${ready.B.peerId} open`))

      const direct = await a.event(e => e.ev === 'direct', 'direct connection to B', 20000)
      assert.equal(direct.addr, `/ip4/${topo.natIp.B}/tcp/${PORT.B}/p2p/${ready.B.peerId}`,
        "A's direct connection goes to B's NAT address")
      assert.equal(direct.limited, false)
      assert.equal(direct.pingOk, true, 'ping over the direct connection')
      assert.deepEqual(direct.connections, [direct.addr], 'only the direct connection is left')
      // B sees A arrive from A's NAT address, not through the relay.
      await b.event(e => e.ev === 'open' && e.peer === ready.A.peerId && e.addr === `/ip4/${topo.natIp.A}/tcp/${PORT.A}/p2p/${ready.A.peerId}`,
        "B's direct connection from A's NAT address")

      // The relay carried the circuit (DCUtR's messages crossed it), then
      // the peers closed it once they had the direct connection.
      await relay.waitForLog(new RegExp(`relay: circuit ${ready.A.peerId} -> ${ready.B.peerId} ended`))
      // (/metrics is refreshed once a second.)
      const text = await waitFor(() => {
        const m = metrics(topo, relay)
        return metric(m, 'mepassa_relay_circuits_current') === 0 && metric(m, 'mepassa_relay_circuit_bytes_total') > 0 && m
      }, { timeout: 5000, what: 'the circuit in /metrics' })
      assert.ok(metric(text, 'mepassa_relay_circuit_requests_total', '{result="accepted"}') >= 1, 'circuit counted')
      assert.equal(metric(text, 'mepassa_relay_reservation_requests_total', '{result="accepted"}'), 2)
      assert.ok(metric(text, 'mepassa_relay_circuit_bytes_total') > 0, 'bytes relayed')
      assert.equal(metric(text, 'mepassa_relay_circuits_current'), 0)
    } catch (e) {
      e.message += `\n--- A ---\n${a.log()}\n--- B ---\n${b.log()}\n--- our node ---\n${relay.logs().slice(-4000)}`
      throw e
    }
  })

// Routing-table preload: starts `count` js-libp2p Kademlia servers listening
// on 127.0.0.1 and connects each to every target, so both servers identify
// the same peers and insert them into their routing tables. Child of run.mjs:
// {cmd:'start', count, targets} -> {type:'ready', started}; exits when run.mjs
// disconnects.
import { createClient, libp2pLibs, KAD } from './common.mjs'

const nodes = []

async function start ({ count, targets }) {
  const l = await libp2pLibs()
  const addrs = targets.map(t => l.multiaddr(t))
  const one = async () => {
    const node = await createClient({
      listen: true,
      services: {
        dht: l.kadDHT({
          protocol: KAD,
          clientMode: false,
          peerInfoMapper: l.passthroughMapper,
          // Quiet: the preload peers only need to be known, not to search.
          initialQuerySelfInterval: 3_600_000,
          querySelfInterval: 3_600_000
        })
      }
    })
    nodes.push(node)
    for (const a of addrs) await node.dial(a)
  }
  for (let i = 0; i < count; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, count - i) }, one))
  }
  process.send({ type: 'ready', started: nodes.length })
}

process.on('message', (m) => {
  if (m.cmd === 'start') start(m).catch(e => { process.send({ type: 'error', error: String(e?.stack ?? e) }) })
})
process.on('disconnect', () => process.exit(0))

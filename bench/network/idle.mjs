// Idle connections for the memory measurement: `peers` js-libp2p clients
// (TCP, Noise, Yamux, Identify, Ping) each open `perPeer` connections to the
// target and keep them, doing nothing else. Child of run.mjs:
// {cmd:'open', target, peers, perPeer} -> {type:'opened', connections};
// exits when run.mjs disconnects.
import { createClient, libp2pLibs } from './common.mjs'

async function open ({ target, peers, perPeer }) {
  const l = await libp2pLibs()
  const ma = l.multiaddr(target)
  let opened = 0
  let failed = 0
  const one = async () => {
    const node = await createClient()
    for (let i = 0; i < perPeer; i++) {
      // A slow server may time a handshake out under this burst; retry a
      // few times and count the failures rather than give up.
      for (let attempt = 0; ; attempt++) {
        try {
          await node.dial(ma, { force: true })
          opened++
          break
        } catch (e) {
          failed++
          if (attempt === 4) throw e
        }
      }
    }
  }
  for (let i = 0; i < peers; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, peers - i) }, one))
  }
  process.send({ type: 'opened', connections: opened, failed })
}

process.on('message', (m) => {
  if (m.cmd === 'open') open(m).catch(e => { process.send({ type: 'error', error: String(e?.stack ?? e) }) })
})
process.on('disconnect', () => process.exit(0))

// Network namespaces for NAT tests: an outer ("public") segment where our
// node runs, and two homes, each behind its own NAT router. Linux only, and
// needs root, `ip` (iproute2) and `nft` (nftables); netnsUnavailable() says
// why not when they are missing. Every namespace name carries the test
// process's pid, veths are created inside the namespaces (never in the
// caller's), and destroy() deletes them all.
//
//   home-A 10.0.1.2 -- 10.0.1.1 nat-A 6.0.1.2 --+
//                                               pub (6.0.1.1 / 6.0.2.1): our node
//   home-B 10.0.2.2 -- 10.0.2.1 nat-B 6.0.2.2 --+
//
// The outer addresses are outside js-libp2p's private ranges, so js treats
// the NATs' addresses as public; no packet leaves the namespaces. Each NAT
// masquerades its home behind its outer address, keeping source ports (one
// host behind it: the mapping is endpoint-independent in practice), and
// drops everything unsolicited from outside; each home host drops
// unsolicited inbound too. Only a hole punch (TCP simultaneous open through
// both NATs) gets a direct connection between the homes.
import { execFileSync, spawn } from 'node:child_process'

const run = (cmd, args, input) =>
  execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 10000 }).toString()

function has (cmd, flag) {
  try {
    run(cmd, [flag])
    return true
  } catch {
    return false
  }
}

// null when namespaces can be made here, else the reason they cannot.
export function netnsUnavailable () {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  if (!has('ip', '-V')) return 'no `ip` (install iproute2)'
  if (!has('nft', '--version')) return 'no `nft` (install nftables)'
  const probe = `mpprobe${process.pid}`
  try {
    run('ip', ['netns', 'add', probe])
    run('ip', ['netns', 'exec', probe, 'nft', '-f', '-'], 'table inet probe { }\n')
  } catch (e) {
    return `cannot create a network namespace with nftables: ${e.stderr?.toString().trim() || e.message}`
  } finally {
    try { run('ip', ['netns', 'del', probe]) } catch {}
  }
  return null
}

const natRules = `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state != { established, related } drop
  }
}
`
const hostRules = `
table inet filter {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "eth0" ct state != { established, related } drop
  }
}
`

// One shell script (a few `ip -batch` and `nft -f` runs): process spawns are
// what setting up costs on a loaded machine.
function setupScript (ns) {
  const lines = ['set -e', `ip -batch - <<'EOF'`]
  for (const n of Object.values(ns)) lines.push(`netns add ${n}`)
  for (const [side, net] of [['A', 1], ['B', 2]]) {
    lines.push(`link add name to${side} netns ${ns.pub} type veth peer name wan netns ${ns[`nat${side}`]}`)
    lines.push(`link add name lan netns ${ns[`nat${side}`]} type veth peer name eth0 netns ${ns[`home${side}`]}`)
  }
  lines.push('EOF')
  const batch = (n, cmds) => lines.push(`ip -n ${n} -batch - <<'EOF'`, 'link set lo up', ...cmds, 'EOF')
  batch(ns.pub, ['addr add 6.0.1.1/24 dev toA', 'link set toA up', 'addr add 6.0.2.1/24 dev toB', 'link set toB up'])
  const forward = (n) => lines.push(`ip netns exec ${n} sh -ec 'echo 1 > /proc/sys/net/ipv4/ip_forward'`)
  forward(ns.pub)
  for (const [side, net] of [['A', 1], ['B', 2]]) {
    const nat = ns[`nat${side}`]
    const home = ns[`home${side}`]
    batch(nat, [`addr add 6.0.${net}.2/24 dev wan`, 'link set wan up', `route add default via 6.0.${net}.1`,
      `addr add 10.0.${net}.1/24 dev lan`, 'link set lan up'])
    batch(home, [`addr add 10.0.${net}.2/24 dev eth0`, 'link set eth0 up', `route add default via 10.0.${net}.1`])
    forward(nat)
    lines.push(`ip netns exec ${nat} nft -f - <<'EOF'`, natRules, 'EOF')
    lines.push(`ip netns exec ${home} nft -f - <<'EOF'`, hostRules, 'EOF')
  }
  return lines.join('\n') + '\n'
}

export function createNatTopology () {
  const tag = `mp${process.pid}`
  const ns = { pub: `${tag}pub`, natA: `${tag}natA`, natB: `${tag}natB`, homeA: `${tag}homeA`, homeB: `${tag}homeB` }
  const topo = {
    ns,
    relayIp: '6.0.1.1',
    natIp: { A: '6.0.1.2', B: '6.0.2.2' },
    homeIp: { A: '10.0.1.2', B: '10.0.2.2' },
    // A command run inside a namespace, as a child process.
    spawnIn (name, cmd, args, opts = {}) {
      return spawn('ip', ['netns', 'exec', name, cmd, ...args], opts)
    },
    exec: (name, cmd, args, input) => run('ip', ['netns', 'exec', name, cmd, ...args], input),
    // Deleting a namespace deletes its veths; -force goes on past missing ones.
    destroy () {
      try { run('ip', ['-force', '-batch', '-'], Object.values(ns).map(n => `netns del ${n}\n`).join('')) } catch {}
    }
  }
  try {
    run('sh', ['-c', setupScript(ns)])
  } catch (e) {
    topo.destroy()
    throw new Error(`setting up the namespaces failed: ${e.stderr?.toString().trim() || e.message}`)
  }
  return topo
}

// mp-loadgen: a multi-threaded libp2p load generator on this project's own
// stack (TCP, multistream-select, Noise XX, Yamux, or QUIC with libp2p TLS;
// Identify, Kademlia codecs), for driving a bootstrap node past one core. See modes.hpp for
// what each mode does and bench/README.md for how the figures are used.
//
//   mp-loadgen <mode> --target /ip4/127.0.0.1/tcp/4001 [--pid N] [flags]
//   mp-loadgen <mode> --target /ip4/127.0.0.1/udp/4001/quic-v1 [--pid N] [flags]
//
// Prints one human line per phase and one "RESULT {json}" line. Exit code:
// 0, or 1 when --check is given and an operation failed or an answer was
// wrong (malformed, no closer peers), or nothing was done.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "loadgen/connection.hpp"
#include "loadgen/modes.hpp"

using namespace mp::loadgen;

namespace {

constexpr const char* kUsage = R"(usage: mp-loadgen MODE --target ADDR [flags]
modes: setups | findnode-new | findnode-reuse | idle | relay | crypto
  (crypto takes no target: one core's X25519 and Ed25519 rates on the node's own
   primitives and the responder-handshake bound they give; --duration S per figure)
  --target ADDR       /ip4/A/tcp/P[/p2p/ID], /ip4/A/udp/P/quic-v1[/p2p/ID] or A:P of the server
  --transport T       tcp or quic (with an A:P target; a multiaddr says it itself)
  --pid N             the server's pid: its CPU time (and RSS for idle) from /proc
  --threads N         load threads, one io_context each (2)
  --duration S        seconds of load (5)
  --ops N             stop after about N operations (no limit; relay: in each part)
  --concurrency N     setups: dialers at once; idle/seeding: dials at once (16)
  --conns N           findnode: client connections; relay: listener/client pairs (8)
  --inflight N        findnode: requests in flight per connection (4)
  --rate R            findnode: R requests/s in all, each loop on a fixed schedule; latency
                      counted from the scheduled time (0: as fast as answered)
  --seed N            findnode: kad-server peers connected first (32)
  --idle N            idle: connections to hold (1000)
  --sources N         source addresses 127.0.1.1.. for loopback targets (16; 0: any)
  --chunk BYTES       relay: bytes per echo through a circuit (16384; at most 262144)
  --health-port N     idle: ask http://127.0.0.1:N/health while the connections are held
  --timeout-ms N      per setup and per request (10000)
  --check-all         validate every FIND_NODE answer's peers (default: every 64th)
  --check             exit 1 on any failed operation or unusable answer
)";

int to_int(const std::string& flag, const char* v) {
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    throw std::invalid_argument(flag + ": not a number: " + v);
  }
}

// Lets one process hold --idle connections (the soft limit is often 1024).
void raise_open_files() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

bool failed(const PhaseReport& r) {
  const auto& s = r.stats;
  if (s.errors > 0 || s.bad_answers > 0 || s.latency_us.empty()) return true;
  if (r.mode.rfind("findnode", 0) == 0) return s.answers == 0 || s.answers_without_peers > 0;
  return s.identify_served == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  bool check = false;
  std::string target;
  bool quic = false;
  try {
    if (argc < 2) throw std::invalid_argument("no mode");
    opt.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> const char* {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--target") target = value();
      else if (a == "--transport") {
        const std::string t = value();
        if (t != "tcp" && t != "quic") throw std::invalid_argument("--transport: tcp or quic");
        quic = t == "quic";
      }
      else if (a == "--pid") opt.pid = to_int(a, value());
      else if (a == "--threads") opt.threads = to_int(a, value());
      else if (a == "--duration") opt.duration = std::stod(value());
      else if (a == "--ops") opt.ops = static_cast<std::uint64_t>(to_int(a, value()));
      else if (a == "--concurrency") opt.concurrency = to_int(a, value());
      else if (a == "--conns") opt.conns = to_int(a, value());
      else if (a == "--inflight") opt.inflight = to_int(a, value());
      else if (a == "--rate") opt.rate = std::stod(value());
      else if (a == "--seed") opt.seed = to_int(a, value());
      else if (a == "--idle") opt.idle = to_int(a, value());
      else if (a == "--sources") opt.sources = to_int(a, value());
      else if (a == "--chunk") opt.chunk = static_cast<std::size_t>(to_int(a, value()));
      else if (a == "--health-port") opt.health_port = to_int(a, value());
      else if (a == "--timeout-ms") opt.timeout = std::chrono::milliseconds(to_int(a, value()));
      else if (a == "--check-all") opt.check_all = true;
      else if (a == "--check") check = true;
      else throw std::invalid_argument("unknown flag " + a);
    }
    if (opt.mode == "crypto") return run_crypto(std::min(opt.duration, 5.0));
    if (target.empty()) throw std::invalid_argument("--target is required");
    opt.target = parse_target(target, quic);
    if (opt.target.quic && opt.mode == "relay") {
      throw std::invalid_argument("relay runs over TCP only");
    }
    if (opt.threads < 1 || opt.concurrency < 1 || opt.conns < 1 || opt.inflight < 1 ||
        opt.seed < 0 || opt.idle < 1 || opt.duration <= 0 || opt.chunk < 1 ||
        opt.chunk > 256 * 1024) {
      throw std::invalid_argument("counts must be positive");
    }
  } catch (const std::exception& e) {
    std::cerr << "mp-loadgen: " << e.what() << "\n" << kUsage;
    return 2;
  }
  raise_open_files();

  PhaseReport report;
  if (opt.mode == "setups") report = run_setups(opt);
  else if (opt.mode == "findnode-new") report = run_findnode(opt, false);
  else if (opt.mode == "findnode-reuse") report = run_findnode(opt, true);
  else if (opt.mode == "idle") report = run_idle(opt);
  else if (opt.mode == "relay") report = run_relay(opt);
  else {
    std::cerr << "mp-loadgen: unknown mode " << opt.mode << "\n" << kUsage;
    return 2;
  }
  report.print();
  return check && failed(report) ? 1 : 0;
}

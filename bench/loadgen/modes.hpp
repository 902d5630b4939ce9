// The load generator's phases. Each runs on a pool of threads, one
// io_context each (connections are spread round-robin over them), and
// returns one PhaseReport with the server's CPU time over the timed part
// when a pid is given.
//
//  setups         C dialers, each in a loop: TCP, multistream, Noise XX,
//                 Yamux (or QUIC: the TLS handshake, both certificates
//                 verified), the server's Identify asked and verified, its
//                 Identify request answered, close. Latency: dial to both
//                 identifies done.
//  findnode-new   `seed` kad-server peers connect and identify first (so the
//                 server's table has peers to answer with), then `conns`
//                 client connections send FIND_NODE for random keys,
//                 `inflight` at once per connection, a new stream each.
//  findnode-reuse the same with one stream per in-flight slot, reused for
//                 every request.
//  idle           `idle` connections (identified both ways) held at once,
//                 spread over `sources` source addresses; the server's RSS
//                 before and with them held, and whether /health answers.
//  relay          (relay_mode.cpp) `conns` listeners RESERVE on the server's
//                 Circuit Relay v2 hop protocol and echo what arrives on
//                 their STOP streams; `conns` clients CONNECT through it,
//                 first opening circuits in a loop (setup cost), then moving
//                 `chunk`-byte echoes through one circuit each (throughput,
//                 round-trip latency), every echo compared byte for byte.
#pragma once

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "loadgen/connection.hpp"
#include "loadgen/stats.hpp"

namespace mp::loadgen {

struct Options {
  std::string mode;
  Target target;  // TCP, or QUIC (setups, findnode-new, findnode-reuse, idle)
  int threads = 2;
  int concurrency = 16;  // setups: dialers at once
  int conns = 8;         // findnode: client connections; relay: listener/client pairs
  int inflight = 4;      // findnode: requests in flight per connection
  double rate = 0;       // findnode: requests per second in all, paced (0: as fast as answered)
  int seed = 32;         // findnode: kad-server peers connected first
  int idle = 1000;       // idle: connections held
  int sources = 16;      // source addresses 127.0.1.1 .. 127.0.1.<sources>
  double duration = 5;   // seconds of the timed part
  std::uint64_t ops = 0;  // stop after about this many operations (0: no limit)
  int pid = 0;            // the server's pid, for CPU and RSS (0: not read)
  int health_port = 0;    // idle: the server's HTTP port for /health (0: not asked)
  bool check_all = false;  // validate every FIND_NODE answer (default: every 64th)
  std::chrono::milliseconds timeout{10000};  // per setup and per request
  std::size_t chunk = 16 * 1024;             // relay: bytes per echo
};

// The source address of connection `i`: 127.0.1.1 + i % sources for a
// loopback IPv4 target, else unspecified (the kernel chooses).
asio::ip::address source_for(const Options& opt, std::size_t i);
// The server's utime + stime in seconds, when a pid is given and readable.
std::optional<double> cpu_of(const Options& opt);

PhaseReport run_setups(const Options& opt);
PhaseReport run_findnode(const Options& opt, bool reuse_stream);
PhaseReport run_idle(const Options& opt);
PhaseReport run_relay(const Options& opt);
// No server: the crypto bound of one Noise responder on this core, on the
// node's own primitives (crypto_mode.cpp). Prints its line and RESULT.
int run_crypto(double seconds);

}  // namespace mp::loadgen

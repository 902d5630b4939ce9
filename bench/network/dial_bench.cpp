// Our own dials and the network threads (bench/README.md, "Dials on the
// network threads"): a host dials a loopback listener (another host, on a
// thread of its own) over and over, a few dials in flight at a time, each
// connection closed once it is registered. Prints the CPU each dial cost
// the dialer's main thread (the host's executor: the registry, Kademlia,
// every service) and its other network threads, per dial. Numbers only;
// nothing is asserted.
//
//   bench_dial [--threads N] [--dials M] [--in-flight K] [--quic]
//
// --threads 1: every dial on the main thread (NETWORK_THREADS=1); N >= 2:
// the main thread and N - 1 more take the dials in turn, as in the node.
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "host/host.hpp"
#include "net/context_pool.hpp"

namespace {

using namespace mp;

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double process_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

host::HostConfig config(bool quic) {
  host::HostConfig c;
  c.listen_addrs = {
      *Multiaddr::parse(quic ? "/ip4/127.0.0.1/udp/0/quic-v1" : "/ip4/127.0.0.1/tcp/0")};
  c.ping_interval = std::chrono::hours(1);
  c.limits.max_connections = 100000;
  c.limits.max_connections_per_ip = 100000;
  c.limits.max_connections_per_peer = 100000;
  return c;
}

struct Run {
  int left = 0;
  int done = 0;
  int failed = 0;
};

asio::awaitable<void> dialer(host::Host& h, Multiaddr target, Run& run) {
  while (run.left > 0) {
    --run.left;
    try {
      auto conn = co_await h.dial(target, std::nullopt, /*force_new=*/true);
      conn->close("bench");
      ++run.done;
    } catch (const std::exception& e) {
      if (++run.failed == 1) std::fprintf(stderr, "dial failed: %s\n", e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t threads = 2;
  int dials = 2000;
  int in_flight = 8;
  bool quic = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      threads = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--dials" && i + 1 < argc)
      dials = std::atoi(argv[++i]);
    else if (a == "--in-flight" && i + 1 < argc)
      in_flight = std::atoi(argv[++i]);
    else if (a == "--quic")
      quic = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_dial [--threads N] [--dials M] [--in-flight K] [--quic]\n");
      return 2;
    }
  }
  if (threads < 1) threads = 1;

  // The listener: a host on an io_context and thread of its own.
  asio::io_context server_io(1);
  auto server_guard = asio::make_work_guard(server_io);
  host::Host server(server_io.get_executor(), config(quic), Ed25519KeyPair::generate());
  if (!server.listen().ok()) return 1;
  const Multiaddr target = server.listen_addrs().at(0).with_peer_id(server.local_peer());
  double server_cpu = 0;
  std::thread server_thread([&] {
    server_io.run();
    server_cpu = thread_cpu_us();
  });

  {
    auto pool = threads > 1 ? std::make_unique<net::ContextPool>(threads - 1) : nullptr;
    asio::io_context io(1);
    std::vector<asio::any_io_executor> network;
    if (pool) {
      network.push_back(io.get_executor());
      for (const auto& ex : pool->executors()) network.push_back(ex);
    }
    host::Host client(io.get_executor(), config(quic), Ed25519KeyPair::generate(), network);
    Run run{dials, 0, 0};
    const double main0 = thread_cpu_us();
    const double proc0 = process_cpu_us();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < in_flight; ++i)
      asio::co_spawn(io, dialer(client, target, run), asio::detached);
    // Runs until every dialer is done, then lets the closes finish.
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          while (run.done + run.failed < dials || !client.connections().empty()) {
            asio::steady_timer t(io, std::chrono::milliseconds(2));
            co_await t.async_wait(asio::use_awaitable);
          }
          io.stop();
        },
        asio::detached);
    io.run();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double main_cpu = thread_cpu_us() - main0;
    client.shutdown();
    if (pool) pool->stop();
    server_io.stop();
    server_thread.join();
    const double others = process_cpu_us() - proc0 - main_cpu - server_cpu;
    const double n = run.done > 0 ? run.done : 1;
    std::printf("%s dials, NETWORK_THREADS=%zu, %d in flight: %d done, %d failed, %.0f dials/s\n",
                quic ? "QUIC" : "TCP", threads, in_flight, run.done, run.failed, run.done / wall);
    std::printf(
        "CPU per dial (us): dialer main thread %.1f, its other network threads %.1f, "
        "listener %.1f\n",
        main_cpu / n, others / n, server_cpu / n);
  }
  return 0;
}

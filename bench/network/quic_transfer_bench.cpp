// Bulk data over one QUIC stream between two of our hosts on loopback, in
// one io_context on this thread: CPU per MiB (both sides together), with
// the sender's packets leaving in UDP_SEGMENT runs (gso:1) or one by one
// (gso:0). The receiver reads with recvmmsg in both.
#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "quic/quic_transport.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::string_view kSink = "/bench/sink/1.0.0";

mp::host::HostConfig config(bool gso) {
  mp::host::HostConfig c;
  c.listen_addrs = {*mp::Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1")};
  c.ping_interval = std::chrono::hours(1);
  c.quic_gso = gso;
  return c;
}

asio::awaitable<void> sink(mp::host::StreamContext ctx) {
  mp::Bytes buf(65536);
  while (co_await ctx.stream->read_some(buf) > 0) {
  }
  co_await ctx.stream->close_write();
}

asio::awaitable<void> transfer(mp::host::Host& a, mp::host::Host& b, std::size_t bytes, bool& ok) {
  auto conn = co_await a.dial(b.listen_addrs()[0].with_peer_id(b.local_peer()));
  std::vector<std::string> protos{std::string(kSink)};
  auto s = co_await conn->open_stream(std::move(protos));
  const mp::Bytes chunk(65536, 0x5a);
  for (std::size_t sent = 0; sent < bytes; sent += chunk.size()) co_await s.stream->write(chunk);
  co_await s.stream->close_write();
  mp::Bytes buf(16);
  while (co_await s.stream->read_some(buf) > 0) {
  }
  ok = true;
  a.shutdown();
  b.shutdown();
}

void BM_QuicBulkTransfer(benchmark::State& state) {
  const bool gso = state.range(0) != 0;
  constexpr std::size_t kBytes = 16 * 1024 * 1024;
  std::uint64_t segmented = 0;
  for (auto _ : state) {
    asio::io_context io;
    mp::host::Host a(io.get_executor(), config(gso), mp::Ed25519KeyPair::generate());
    mp::host::Host b(io.get_executor(), config(true), mp::Ed25519KeyPair::generate());
    b.set_handler(std::string(kSink), [](mp::host::StreamContext ctx) { return sink(std::move(ctx)); });
    if (!a.listen().ok() || !b.listen().ok()) return state.SkipWithError("listen");
    bool ok = false;
    asio::co_spawn(io, transfer(a, b, kBytes, ok), [](std::exception_ptr) {});
    io.run_for(60s);
    if (!ok) return state.SkipWithError("transfer did not finish");
    segmented += a.quic().datagram_stats().segmented_sends.load();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBytes));
  state.counters["segmented_sends"] =
      benchmark::Counter(static_cast<double>(segmented), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_QuicBulkTransfer)->ArgName("gso")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

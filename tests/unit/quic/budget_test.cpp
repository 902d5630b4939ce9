// QUIC streams in the node-wide memory budget: credit beyond the initial
// stream window is reserved before it is granted, so a peer sending more
// than the budget is held by flow control, the budget never passes its
// limit, and everything comes back when the connection ends.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "quic/address.hpp"
#include "quic/quic_connection.hpp"
#include "quic/quic_transport.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kSink = "/test/sink/1.0.0";
constexpr std::size_t kSent = 1024 * 1024;

host::HostConfig config(std::size_t memory) {
  host::HostConfig c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1")};
  c.ping_interval = std::chrono::hours(1);
  c.max_memory_bytes = memory;
  return c;
}

using test::eventually;

struct Sink {
  bool go = false;
  bool done = false;
  std::size_t received = 0;
  std::size_t max_held = 0;
};

// Reads nothing until `go`, then everything, noting the most the budget held.
asio::awaitable<void> sink(host::StreamContext ctx, Sink& s, const host::ResourceBudget& budget) {
  co_await eventually([&] { return s.go; }, 20s);
  Bytes buf(4096);
  for (;;) {
    s.max_held = std::max(s.max_held, budget.node_held());
    const std::size_t n = co_await ctx.stream->read_some(buf);
    if (n == 0) break;
    s.received += n;
  }
  s.done = true;
}

asio::awaitable<void> send_more_than_the_budget(host::Host& a, host::Host& b, Sink& s) {
  auto conn = co_await a.dial(b.listen_addrs()[0].with_peer_id(b.local_peer()));
  std::vector<std::string> protos{std::string(kSink)};
  auto st = co_await conn->open_stream(std::move(protos));
  bool written = false;
  asio::co_spawn(
      a.executor(),
      [](std::shared_ptr<net::ByteStream> stream, bool& done) -> asio::awaitable<void> {
        Bytes chunk(16 * 1024, 0x5a);
        for (std::size_t off = 0; off < kSent; off += chunk.size()) co_await stream->write(chunk);
        co_await stream->close_write();
        done = true;
      }(st.stream, written),
      [](std::exception_ptr) {});
  const auto& budget = b.budget();
  const std::size_t limit = budget.limits().per_peer;
  // The sink reads nothing: the peer fills the initial stream window and is
  // then held by flow control (the write of 1 MiB cannot finish).
  EXPECT_TRUE(co_await eventually(
      [&] { return b.stats().bytes_in.load() >= static_cast<std::uint64_t>(kStreamWindow); }));
  EXPECT_FALSE(written);
  EXPECT_LE(budget.node_held(), limit);
  // The sink reads: credit comes back only as far as the budget admits, and
  // everything still arrives.
  s.go = true;
  EXPECT_TRUE(co_await eventually([&] { return s.done; }, 20s));
  EXPECT_TRUE(written);
  EXPECT_EQ(s.received, kSent);
  EXPECT_LE(s.max_held, limit);
  EXPECT_GT(budget.refusals(host::Scope::kPeer), 0u);  // the budget did hold it back
  conn->close("done");
  EXPECT_TRUE(co_await eventually([&] { return b.connections().empty(); }));
  EXPECT_EQ(budget.node_held(), 0u);
  a.shutdown();
  b.shutdown();
}

TEST(QuicBudget, PeerSendingMoreThanTheBudgetIsHeldByFlowControl) {
  asio::io_context io;
  host::Host a(io.get_executor(), config(std::size_t{512} << 20), Ed25519KeyPair::generate());
  // 768 KiB node: 48 KiB per peer, under one stream window (and over half
  // of one: ngtcp2 sends MAX_STREAM_DATA once half a window is granted).
  host::Host b(io.get_executor(), config(768 * 1024), Ed25519KeyPair::generate());
  Sink s;
  b.set_handler(std::string(kSink), [&](host::StreamContext ctx) {
    return sink(std::move(ctx), s, b.budget());
  });
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  ASSERT_LT(b.budget().limits().per_peer, kStreamWindow);
  test::run_in(io, send_more_than_the_budget(a, b, s), 40s);
}

}  // namespace
}  // namespace mp::quic

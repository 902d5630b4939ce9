// ping::Service on two loopback hosts: the periodic ping reaches the remote,
// its round trip is published and counted; three failures in a row close
// the connection.
#include "ping/service.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>

#include "ping/ping.hpp"
#include "support/loopback_host.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"

namespace mp::ping {
namespace {

using namespace std::chrono_literals;

using test::until;

// (A named coroutine: GCC 12 miscompiles coroutine lambdas taking arguments by value.)
asio::awaitable<void> reset_stream(host::StreamContext ctx) {
  ctx.stream->reset();
  co_return;
}

TEST(PingService, PingsEachConnectionPeriodically) {
  asio::io_context io;
  auto cfg = test::loopback_config();
  cfg.ping_interval = 50ms;
  host::Host a(io.get_executor(), cfg, Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
  Service ping_a(a), ping_b(b);
  std::size_t rtts = 0;
  a.events().subscribe([&](const host::Event& e) {
    if (const auto* r = std::get_if<host::PingRtt>(&e); r && r->peer == b.local_peer()) ++rtts;
  });
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, [&]() -> asio::awaitable<void> {
    auto conn = co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
    co_await until([&] { return rtts >= 3; });
    conn->close("test done");
  }());
  EXPECT_GE(rtts, 3u);
  EXPECT_EQ(a.stats().pings_sent.load(), rtts);
  EXPECT_EQ(a.stats().pings_failed.load(), 0u);
}

TEST(PingService, ThreeFailedPingsInARowCloseTheConnection) {
  asio::io_context io;
  auto cfg = test::loopback_config();
  cfg.ping_interval = 50ms;
  host::Host a(io.get_executor(), cfg, Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
  Service ping_a(a);
  // b speaks ping but resets every ping stream.
  b.set_handler(std::string(kProtocol),
                [](host::StreamContext ctx) { return reset_stream(std::move(ctx)); });
  std::string reason;
  a.events().subscribe([&](const host::Event& e) {
    if (const auto* c = std::get_if<host::ConnectionClosed>(&e)) reason = c->reason;
  });
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, [&]() -> asio::awaitable<void> {
    co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
    co_await until([&] { return !reason.empty(); });
  }());
  EXPECT_EQ(reason.rfind("ping failed 3 times", 0), 0u) << reason;
  EXPECT_EQ(a.stats().pings_failed.load(), 3u);
  EXPECT_EQ(a.stats().pings_sent.load(), 0u);
}

}  // namespace
}  // namespace mp::ping

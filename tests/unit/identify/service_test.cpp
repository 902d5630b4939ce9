// identify::Service on two loopback hosts: each side asks the other on a new
// connection, keeps the answer per connection, forgets it when the
// connection closes, and answers with what its host advertises.
#include "identify/service.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>

#include "identify/identify.hpp"
#include "support/loopback_host.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"

namespace mp::identify {
namespace {

using namespace std::chrono_literals;

using test::until;

// (A named coroutine: GCC 12 miscompiles coroutine lambdas taking arguments by value.)
asio::awaitable<void> ignore(host::StreamContext) {
  co_return;
}

TEST(IdentifyService, KeepsTheAnswerPerConnectionAndForgetsItOnClose) {
  asio::io_context io;
  host::Host a(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
  Service identify_a(a), identify_b(b);
  b.set_handler("/test/extra/1.0.0", [](host::StreamContext ctx) { return ignore(std::move(ctx)); });
  ASSERT_TRUE(b.listen().ok());
  std::uint64_t conn_id = 0;
  std::optional<Info> seen;
  bool closed = false;
  test::run_in(io, [&]() -> asio::awaitable<void> {
    auto conn = co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
    conn_id = conn->id();
    co_await until([&] { return identify_a.info(conn_id) != nullptr; });
    if (const Info* info = identify_a.info(conn_id)) seen = *info;
    conn->close("test done");
    co_await until([&] { return a.connection(conn_id) == nullptr; });
    closed = identify_a.info(conn_id) == nullptr;
  }());
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->public_key, b.local_public_key());
  EXPECT_EQ(seen->listen_addrs, b.listen_addrs());
  // b lists every protocol it has a handler for, its own two included.
  const auto has = [&](std::string_view p) {
    return std::find(seen->protocols.begin(), seen->protocols.end(), p) != seen->protocols.end();
  };
  EXPECT_TRUE(has(kProtocol));
  EXPECT_TRUE(has(kPushProtocol));
  EXPECT_TRUE(has("/test/extra/1.0.0"));
  EXPECT_TRUE(closed);
}

TEST(IdentifyService, RemovesItsHandlersWhenItGoes) {
  asio::io_context io;
  host::Host h(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
  {
    Service identify(h);
    EXPECT_EQ(h.protocols().size(), 2u);
  }
  EXPECT_TRUE(h.protocols().empty());
}

}  // namespace
}  // namespace mp::identify

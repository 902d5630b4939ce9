// The relay's byte pipe over in-memory streams: bytes and half-closes pass
// both ways, the data cap lets exactly `data` bytes through then closes the
// circuit, the duration limit closes an idle circuit, and bytes read past
// the stop handshake are delivered first.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <system_error>

#include "net/memory_pipe.hpp"
#include "relay/pipe.hpp"
#include "support/run_coro.hpp"

namespace mp::relay {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::string read;
  bool reset = false;  // the read ended with an error rather than EOF
};

asio::awaitable<Outcome> read_all(net::ByteStream& s) {
  Outcome out;
  Bytes buf(4096);
  try {
    for (;;) {
      const std::size_t n = co_await s.read_some(buf);
      if (n == 0) break;
      out.read.append(reinterpret_cast<const char*>(buf.data()), n);
    }
  } catch (const std::system_error&) {
    out.reset = true;
  }
  co_return out;
}

struct Circuit {
  std::shared_ptr<net::ByteStream> client, relay_a, relay_b, target;
  std::optional<PipeResult> result;
};

// Waits for splice to finish, then drops the streams while their
// io_context still exists (run_coro destroys it when the coroutine returns).
asio::awaitable<void> wait_result(Circuit& c) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  while (!c.result) {
    t.expires_after(5ms);
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  c.client.reset();
  c.relay_a.reset();
  c.relay_b.reset();
  c.target.reset();
}

asio::awaitable<void> start(Circuit& c, CircuitLimit limit, std::atomic<std::uint64_t>* relayed, Bytes b_prefix) {
  auto ex = co_await asio::this_coro::executor;
  auto p1 = net::make_memory_pipe(ex);
  auto p2 = net::make_memory_pipe(ex);
  c.client = std::move(p1.first);
  c.relay_a = std::move(p1.second);
  c.relay_b = std::move(p2.first);
  c.target = std::move(p2.second);
  asio::co_spawn(ex, splice(ex, c.relay_a, c.relay_b, limit, relayed, Bytes{}, std::move(b_prefix)),
                 [&c](std::exception_ptr, PipeResult r) { c.result = r; });
}

asio::awaitable<void> both_ways(Circuit& c, std::atomic<std::uint64_t>& relayed, Outcome& at_target,
                                Outcome& at_client) {
  CircuitLimit limit{std::chrono::seconds(0), 0};
  co_await start(c, limit, &relayed, Bytes{});
  const std::string hello = "hello through the relay";
  co_await c.client->write(as_bytes(hello));
  co_await c.client->close_write();
  at_target = co_await read_all(*c.target);
  const std::string answer = "and back";
  co_await c.target->write(as_bytes(answer));
  co_await c.target->close_write();
  at_client = co_await read_all(*c.client);
  co_await wait_result(c);
}

TEST(RelayPipe, BytesAndHalfClosePassBothWays) {
  Circuit c;
  std::atomic<std::uint64_t> relayed{0};
  Outcome at_target, at_client;
  test::run_coro(both_ways(c, relayed, at_target, at_client));
  EXPECT_EQ(at_target.read, "hello through the relay");
  EXPECT_FALSE(at_target.reset);
  EXPECT_EQ(at_client.read, "and back");
  EXPECT_FALSE(at_client.reset);
  ASSERT_TRUE(c.result);
  EXPECT_EQ(c.result->end, PipeEnd::kClosed);
  EXPECT_EQ(c.result->a_to_b, 23u);
  EXPECT_EQ(c.result->b_to_a, 8u);
  EXPECT_EQ(relayed.load(), 31u);
}

asio::awaitable<void> over_cap(Circuit& c, Outcome& at_target, Outcome& at_client) {
  CircuitLimit limit{std::chrono::seconds(0), 10};
  co_await start(c, limit, nullptr, Bytes{});
  const std::string data(25, 'x');
  try {
    co_await c.client->write(as_bytes(data));
  } catch (const std::system_error&) {
  }
  at_target = co_await read_all(*c.target);
  co_await c.target->close_write();
  at_client = co_await read_all(*c.client);
  co_await wait_result(c);
}

TEST(RelayPipe, DataCapPassesExactlyCapThenClosesCircuit) {
  Circuit c;
  Outcome at_target, at_client;
  test::run_coro(over_cap(c, at_target, at_client));
  EXPECT_EQ(at_target.read, std::string(10, 'x'));
  EXPECT_FALSE(at_target.reset);  // exactly the cap, then EOF
  EXPECT_TRUE(at_client.reset);   // the sender learns the circuit is over
  ASSERT_TRUE(c.result);
  EXPECT_EQ(c.result->end, PipeEnd::kDataLimit);
  EXPECT_EQ(c.result->a_to_b, 10u);
}

asio::awaitable<void> idle_until_duration(Circuit& c, Outcome& at_client) {
  CircuitLimit limit{std::chrono::seconds(1), 0};
  co_await start(c, limit, nullptr, Bytes{});
  at_client = co_await read_all(*c.client);  // nobody sends: ends when the duration runs out
  co_await wait_result(c);
}

TEST(RelayPipe, DurationLimitClosesCircuit) {
  Circuit c;
  Outcome at_client;
  test::run_coro(idle_until_duration(c, at_client));
  EXPECT_TRUE(at_client.reset);
  ASSERT_TRUE(c.result);
  EXPECT_EQ(c.result->end, PipeEnd::kDuration);
}

asio::awaitable<void> with_prefix(Circuit& c, Outcome& at_client) {
  CircuitLimit limit{std::chrono::seconds(0), 0};
  const std::string early = "early ";
  co_await start(c, limit, nullptr, Bytes(early.begin(), early.end()));
  const std::string rest = "bytes";
  co_await c.target->write(as_bytes(rest));
  co_await c.target->close_write();
  co_await c.client->close_write();
  at_client = co_await read_all(*c.client);
  co_await wait_result(c);
}

TEST(RelayPipe, BufferedBytesFromTargetGoFirst) {
  Circuit c;
  Outcome at_client;
  test::run_coro(with_prefix(c, at_client));
  EXPECT_EQ(at_client.read, "early bytes");
  ASSERT_TRUE(c.result);
  EXPECT_EQ(c.result->end, PipeEnd::kClosed);
  EXPECT_EQ(c.result->b_to_a, 11u);
}

asio::awaitable<void> target_resets(Circuit& c, Outcome& at_client) {
  CircuitLimit limit{std::chrono::seconds(0), 0};
  co_await start(c, limit, nullptr, Bytes{});
  c.target->reset();
  at_client = co_await read_all(*c.client);
  co_await wait_result(c);
}

TEST(RelayPipe, ResetOnOneSideResetsTheOther) {
  Circuit c;
  Outcome at_client;
  test::run_coro(target_resets(c, at_client));
  EXPECT_TRUE(at_client.reset);
  ASSERT_TRUE(c.result);
  EXPECT_EQ(c.result->end, PipeEnd::kReset);
}

}  // namespace
}  // namespace mp::relay

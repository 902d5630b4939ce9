// Two Hosts in one io_context over loopback TCP: the whole upgrade path,
// identify both ways, ping, events, limits and timeouts.
#include "host/host.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/redirect_error.hpp>

#include "net/buffered_reader.hpp"
#include "identify/identify.hpp"
#include "identify/service.hpp"
#include "ping/ping.hpp"
#include "ping/service.hpp"
#include "support/loopback_host.hpp"
#include "support/run_coro.hpp"

namespace mp::host {
namespace {

using namespace std::chrono_literals;

using test::loopback_config;

struct Fixture : ::testing::Test {
  asio::io_context io;
  std::vector<Event> events_a, events_b;

  // Runs `body` as a coroutine and the io_context until it finishes.
  void run(std::function<asio::awaitable<void>()> body, std::chrono::seconds limit = 20s) {
    test::run_in(io, body(), limit);
  }
};

template <typename T>
std::size_t count_of(const std::vector<Event>& events) {
  std::size_t n = 0;
  for (const auto& e : events) n += std::holds_alternative<T>(e) ? 1 : 0;
  return n;
}

asio::awaitable<void> dial_identify_ping(Host& a, Host& b, std::vector<Event>& events_a,
                                         std::vector<Event>& events_b) {
  const auto target = b.listen_addrs().at(0).with_peer_id(b.local_peer());
  auto conn = co_await a.dial(target);
  EXPECT_EQ(conn->remote_peer(), b.local_peer());
  EXPECT_EQ(conn->direction(), Direction::kOutbound);
  // Both sides identify each other by themselves.
  for (int i = 0; i < 200 && (count_of<IdentifyReceived>(events_a) == 0 ||
                              count_of<IdentifyReceived>(events_b) == 0); ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, 10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  std::vector<std::string> protos{std::string(ping::kProtocol)};
  auto s = co_await conn->open_stream(std::move(protos));
  EXPECT_EQ(s.protocol, "/ipfs/ping/1.0.0");
  auto rtt = co_await ping::ping_once(*s.stream);
  EXPECT_GE(rtt.count(), 0);
  co_await s.stream->close_write();
  // A second dial to the same peer reuses the connection.
  auto again = co_await a.dial(target);
  EXPECT_EQ(again.get(), conn.get());
}

TEST_F(Fixture, DialUpgradesIdentifiesBothWaysAndPings) {
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  identify::Service identify_a(a), identify_b(b);
  ping::Service ping_a(a), ping_b(b);
  a.events().subscribe([&](const Event& e) { events_a.push_back(e); });
  b.events().subscribe([&](const Event& e) { events_b.push_back(e); });
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  run([&] { return dial_identify_ping(a, b, events_a, events_b); });

  ASSERT_EQ(count_of<ConnectionEstablished>(events_b), 1u);
  const auto& est = std::get<ConnectionEstablished>(events_b.front());
  EXPECT_EQ(est.peer, a.local_peer());
  EXPECT_EQ(est.direction, Direction::kInbound);
  ASSERT_EQ(count_of<IdentifyReceived>(events_b), 1u);
  for (const auto& e : events_b) {
    if (const auto* id = std::get_if<IdentifyReceived>(&e)) {
      EXPECT_EQ(id->info.protocol_version, "/mepassa/1.0.0");
      EXPECT_EQ(id->info.agent_version.rfind("mepassa-bootstrap/", 0), 0u);
      EXPECT_EQ(id->info.listen_addrs, a.listen_addrs());
      // a tells b the address it observed for b.
      ASSERT_TRUE(id->info.observed_addr.has_value());
      EXPECT_EQ(id->info.observed_addr->tcp_endpoint()->first, "127.0.0.1");
    }
  }
  EXPECT_EQ(a.connected_peer_count(), 1u);
  EXPECT_EQ(b.connected_peer_count(), 1u);
}

// Connects, sends `send`, then reads until the server closes the socket
// (EOF or reset) and sets `*closed`. The socket never closes it itself.
asio::awaitable<void> expect_closed_by_server(asio::ip::tcp::endpoint ep, Bytes send, bool* closed) {
  asio::ip::tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(ep, asio::use_awaitable);
  if (!send.empty()) co_await asio::async_write(s, asio::buffer(send), asio::use_awaitable);
  std::array<char, 1024> buf{};
  std::error_code ec;
  while (!ec) {
    co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
  }
  *closed = true;
}

// Polls on the io_context (10 ms steps, at most `tries`) until `done` holds;
// the test asserts on the state afterwards, never on the time it took.
asio::awaitable<void> until(std::function<bool()> done, int tries = 1000) {
  for (int i = 0; i < tries && !done(); ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, 10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
}

TEST_F(Fixture, SilentPeerIsClosedByTheHandshakeTimeout) {
  auto cfg = loopback_config();
  cfg.handshake_timeout = 300ms;
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  const auto ep = b.listen_addrs().at(0).tcp_endpoint();
  bool closed = false;
  run([&] {
    return expect_closed_by_server({asio::ip::make_address(ep->first), ep->second}, {}, &closed);
  });
  EXPECT_TRUE(closed);
  // Closed by the timeout, and by nothing else.
  std::uint64_t failures = 0;
  for (const auto& f : b.stats().handshake_failures) failures += f.load();
  EXPECT_EQ(b.stats().get(HandshakeFailure::kTimeout), 1u);
  EXPECT_EQ(failures, 1u);
  EXPECT_EQ(b.limits().sockets(), 0u);  // the slot was given back
}

TEST_F(Fixture, PerIpHandshakeLimitRefusesTheExtraSocket) {
  // Silent sockets are handshakes in progress: they are capped on their own
  // (not by MAX_CONNECTIONS_PER_IP, which counts established connections).
  auto cfg = loopback_config();
  cfg.max_handshakes_per_ip = 1;
  // Nothing closes the first socket while the test runs but the limit.
  cfg.handshake_timeout = 600s;
  cfg.handshake_first_exchange_timeout = 600s;
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  const auto ep = b.listen_addrs().at(0).tcp_endpoint();
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(ep->first), ep->second);
  bool first_closed = false, second_closed = false;
  // First socket holds the only slot (it stays silent); the second is refused.
  asio::co_spawn(io, expect_closed_by_server(endpoint, {}, &first_closed), [](std::exception_ptr) {});
  run([&]() -> asio::awaitable<void> {
    co_await until([&] { return b.handshakes_in_progress() == 1; });
    co_await expect_closed_by_server(endpoint, {}, &second_closed);
  });
  EXPECT_TRUE(second_closed);
  EXPECT_FALSE(first_closed);  // it still holds its slot
  EXPECT_EQ(b.handshakes_in_progress(), 1u);
  EXPECT_EQ(b.stats()
                .refusals[static_cast<std::size_t>(Scope::kIp)][static_cast<std::size_t>(RefusalReason::kHandshakes)]
                .load(),
            1u);
  EXPECT_EQ(b.stats().get(LimitRefusal::kMaxPerIp), 0u);
}

// Dials, then waits until the connection is closed on both sides.
asio::awaitable<void> dial_then_wait_for_close(Host& a, Host& b) {
  co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
  co_await until([&] { return a.connected_peer_count() == 0 && b.connected_peer_count() == 0; });
}

TEST_F(Fixture, IdleConnectionsAreClosed) {
  auto cfg = loopback_config();
  cfg.idle_timeout = 400ms;
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  b.events().subscribe([&](const Event& e) { events_b.push_back(e); });
  ASSERT_TRUE(b.listen().ok());
  run([&] { return dial_then_wait_for_close(a, b); });
  ASSERT_EQ(count_of<ConnectionClosed>(events_b), 1u);
  for (const auto& e : events_b) {
    if (const auto* c = std::get_if<ConnectionClosed>(&e)) {
      EXPECT_EQ(c->reason, "idle timeout");
    }
  }
  EXPECT_EQ(b.connected_peer_count(), 0u);
  EXPECT_EQ(a.connected_peer_count(), 0u);
}

asio::awaitable<void> dial_expect_failure(Host& a, Multiaddr target, std::string* error) {
  try {
    co_await a.dial(target);
  } catch (const std::exception& e) {
    *error = e.what();
  }
}

TEST_F(Fixture, DialerRefusesTheWrongPeerId) {
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  const PeerId someone = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  std::string error;
  run([&] { return dial_expect_failure(a, b.listen_addrs().at(0).with_peer_id(someone), &error); });
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
  EXPECT_EQ(a.connected_peer_count(), 0u);
}

TEST_F(Fixture, GarbageIsClosedAndCounted) {
  Host b(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  const auto ep = b.listen_addrs().at(0).tcp_endpoint();
  bool closed = false;
  Bytes junk(512, 0xff);
  run([&] { return expect_closed_by_server({asio::ip::make_address(ep->first), ep->second}, junk, &closed); });
  EXPECT_TRUE(closed);
  std::uint64_t failures = 0;
  for (const auto& f : b.stats().handshake_failures) failures += f.load();
  EXPECT_EQ(failures, 1u);
  EXPECT_EQ(b.stats().get(HandshakeFailure::kMultistream), 1u);  // not a varint
  EXPECT_EQ(b.limits().sockets(), 0u);
}

}  // namespace
}  // namespace mp::host

namespace mp::host {
namespace {

// Opens `n` identify pushes from a to b at once (each one length-prefixed
// Identify, FIN), then waits until b has dealt with all of them (`handled`).
asio::awaitable<void> push_identify(Host& a, Host& b, int n, std::function<std::size_t()> handled) {
  auto conn = co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
  identify::Info info;
  info.agent_version = "pusher";
  const Bytes msg = identify::encode(info);
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> protos{std::string(identify::kPushProtocol)};
    auto s = co_await conn->open_stream(std::move(protos));
    try {
      co_await net::write_length_prefixed(*s.stream, msg);
      co_await s.stream->close_write();
    } catch (const std::exception&) {
    }
  }
  co_await until([&] { return handled() >= static_cast<std::size_t>(n); });
}

TEST_F(Fixture, IdentifyPushesBeyondTheBurstAreRefused) {
  auto cfg = loopback_config();
  cfg.identify_push_burst = 2;
  cfg.identify_push_interval = 60s;
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  identify::Service identify_b(b);
  std::size_t pushes_seen = 0;
  b.events().subscribe([&](const Event& e) {
    if (const auto* id = std::get_if<IdentifyReceived>(&e); id && id->info.agent_version == "pusher") {
      ++pushes_seen;
    }
  });
  ASSERT_TRUE(b.listen().ok());
  const auto refused = [&] {
    return b.stats()
        .refusals[static_cast<std::size_t>(Scope::kConnection)]
                 [static_cast<std::size_t>(RefusalReason::kIdentifyPush)]
        .load();
  };
  run([&] { return push_identify(a, b, 6, [&] { return pushes_seen + refused(); }); });
  EXPECT_EQ(pushes_seen, 2u);
  EXPECT_EQ(b.stats()
                .refusals[static_cast<std::size_t>(Scope::kConnection)]
                         [static_cast<std::size_t>(RefusalReason::kIdentifyPush)]
                .load(),
            4u);
}

// A peer that opens a stream and then sends nothing does not keep the
// connection busy: streams alone are not activity.
asio::awaitable<void> open_silent_stream_until_closed(Host& a, Host& b) {
  auto conn = co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
  std::vector<std::string> protos{std::string(ping::kProtocol)};
  auto s = co_await conn->open_stream(std::move(protos));  // held open, silent
  co_await until([&] { return b.connected_peer_count() == 0; });
  s.stream->reset();
}

TEST_F(Fixture, ConnectionWithOnlySilentStreamsIsClosedWhenIdle) {
  auto cfg = loopback_config();
  cfg.idle_timeout = 400ms;
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  ping::Service ping_b(b);  // the protocol of the silent stream
  b.events().subscribe([&](const Event& e) { events_b.push_back(e); });
  ASSERT_TRUE(b.listen().ok());
  run([&] { return open_silent_stream_until_closed(a, b); });
  ASSERT_EQ(count_of<ConnectionClosed>(events_b), 1u);
  for (const auto& e : events_b) {
    if (const auto* c = std::get_if<ConnectionClosed>(&e)) {
      EXPECT_EQ(c->reason, "idle timeout");
    }
  }
}

}  // namespace
}  // namespace mp::host

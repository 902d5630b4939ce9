// HostStats tell what happened: each refusal and handshake failure is
// counted under its true reason, and only there. Two Hosts (or a raw socket)
// over loopback; every test makes a counter move and reads it.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "host/host.hpp"
#include "multistream/error.hpp"
#include "ping/ping.hpp"
#include "ping/service.hpp"
#include "support/loopback_host.hpp"
#include "support/run_coro.hpp"

namespace mp::host {
namespace {

using namespace std::chrono_literals;
using test::loopback_config;

asio::ip::tcp::endpoint endpoint_of(const Host& h) {
  const auto ep = h.listen_addrs().at(0).tcp_endpoint();
  return {asio::ip::make_address(ep->first), ep->second};
}

// Waits (polling on the io_context, at most `tries` steps of 10 ms) until
// `done` holds. The assertion is on the counter afterwards, not on the time.
asio::awaitable<void> until(std::function<bool()> done, int tries = 500) {
  for (int i = 0; i < tries && !done(); ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, 10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
}

// Connects a raw socket and reads until the server closes it.
asio::awaitable<void> connect_until_closed(asio::ip::tcp::endpoint ep, Bytes send = {}) {
  asio::ip::tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(ep, asio::use_awaitable);
  std::error_code ec;
  if (!send.empty()) {
    co_await asio::async_write(s, asio::buffer(send), asio::redirect_error(asio::use_awaitable, ec));
  }
  std::array<char, 256> buf{};
  while (!ec) {
    co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
  }
}

struct HostMetrics : ::testing::Test {
  asio::io_context io;
  void run(std::function<asio::awaitable<void>()> body) { test::run_in(io, body(), 30s); }
};

TEST_F(HostMetrics, TotalLimitRefusalIsCountedAsMaxConnections) {
  auto cfg = loopback_config();
  cfg.limits.max_connections = 1;
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  run([&]() -> asio::awaitable<void> {
    co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
    co_await connect_until_closed(endpoint_of(b));  // one too many in total
  });
  EXPECT_EQ(b.stats().get(LimitRefusal::kMaxConnections), 1u);
  EXPECT_EQ(b.stats().get(LimitRefusal::kMaxPerIp), 0u);
  // Refused at accept: no handshake ran, so none failed.
  EXPECT_EQ(b.stats().get(HandshakeFailure::kLimit), 0u);
}

TEST_F(HostMetrics, PerIpLimitRefusalIsCountedAsMaxPerIp) {
  auto cfg = loopback_config();
  cfg.limits.max_connections_per_ip = 1;
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  run([&]() -> asio::awaitable<void> {
    co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
    co_await connect_until_closed(endpoint_of(b));  // a second one from 127.0.0.1
  });
  EXPECT_EQ(b.stats().get(LimitRefusal::kMaxPerIp), 1u);
  EXPECT_EQ(b.stats().get(LimitRefusal::kMaxConnections), 0u);
}

TEST_F(HostMetrics, PerPeerLimitRefusalIsALimitNotAYamuxFailure) {
  auto cfg = loopback_config();
  cfg.limits.max_connections_per_peer = 1;
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  run([&]() -> asio::awaitable<void> {
    const auto target = b.listen_addrs().at(0).with_peer_id(b.local_peer());
    co_await a.dial(target);
    try {
      co_await a.dial(target, std::nullopt, /*force_new=*/true);  // a second connection
    } catch (const std::exception&) {
      // b closes it once the handshakes proved who a is.
    }
    co_await until([&] { return b.stats().get(LimitRefusal::kMaxPerPeer) > 0; });
  });
  EXPECT_EQ(b.stats().get(LimitRefusal::kMaxPerPeer), 1u);
  EXPECT_EQ(b.stats().get(HandshakeFailure::kLimit), 1u);
  EXPECT_EQ(b.stats().get(HandshakeFailure::kYamux), 0u);
  EXPECT_EQ(b.connected_peer_count(), 1u);
}

TEST_F(HostMetrics, WrongPeerIdIsCountedAsPeerIdMismatch) {
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  const PeerId someone = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  run([&]() -> asio::awaitable<void> {
    try {
      co_await a.dial(b.listen_addrs().at(0).with_peer_id(someone));
    } catch (const std::exception&) {
    }
  });
  EXPECT_EQ(a.stats().get(HandshakeFailure::kPeerIdMismatch), 1u);
  EXPECT_EQ(a.stats().get(HandshakeFailure::kNoise), 0u);
}

TEST_F(HostMetrics, MalformedNegotiationIsAMultistreamFailure) {
  Host b(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  run([&] { return connect_until_closed(endpoint_of(b), Bytes(64, 0xff)); });  // not a varint
  EXPECT_EQ(b.stats().get(HandshakeFailure::kMultistream), 1u);
  std::uint64_t all = 0;
  for (const auto& f : b.stats().handshake_failures) all += f.load();
  EXPECT_EQ(all, 1u);
}

TEST_F(HostMetrics, GarbageAfterNoiseNegotiationIsANoiseFailure) {
  Host b(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  Bytes hello;
  for (std::string_view m : {"/multistream/1.0.0", "/noise"}) {
    hello.push_back(static_cast<std::uint8_t>(m.size() + 1));
    hello.insert(hello.end(), m.begin(), m.end());
    hello.push_back('\n');
  }
  // A 32-byte Noise frame that is no X25519 ephemeral key message.
  hello.push_back(0);
  hello.push_back(31);
  hello.insert(hello.end(), 31, 0x01);
  run([&] { return connect_until_closed(endpoint_of(b), hello); });
  EXPECT_EQ(b.stats().get(HandshakeFailure::kNoise), 1u);
}

TEST_F(HostMetrics, StreamOverTheLimitIsCountedAsMaxStreams) {
  auto cfg = loopback_config();
  cfg.limits.max_streams_per_connection = 1;
  cfg.idle_timeout = 400ms;  // registry sweep every 100 ms
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  ping::Service ping_b(b);  // the protocol of the streams
  ASSERT_TRUE(b.listen().ok());
  run([&]() -> asio::awaitable<void> {
    auto conn = co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
    co_await until([&] {
      return !b.connections().empty() && b.connections().front()->stream_count() == 0;
    });
    const std::vector<std::string> ping_only{std::string(ping::kProtocol)};
    auto held = co_await conn->open_stream(ping_only);
    try {
      co_await conn->open_stream(ping_only);  // RST at SYN
    } catch (const std::exception&) {
    }
    co_await until([&] { return b.stats().get(StreamRefusal::kMaxStreams) > 0; });
    held.stream->reset();
  });
  EXPECT_EQ(b.stats().get(StreamRefusal::kMaxStreams), 1u);
  EXPECT_EQ(b.stats().get(StreamRefusal::kProtocol), 0u);
}

TEST_F(HostMetrics, StreamWithNoCommonProtocolIsCountedAsProtocol) {
  Host a(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  Host b(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  bool refused_at_a = false;
  run([&]() -> asio::awaitable<void> {
    auto conn = co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
    try {
      const std::vector<std::string> unknown{std::string("/nobody/speaks/this/1.0.0")};
      co_await conn->open_stream(unknown);
    } catch (const std::system_error& e) {
      refused_at_a = e.code() == multistream::Errc::not_supported;
    }
    co_await until([&] { return b.stats().get(StreamRefusal::kProtocol) > 0; });
  });
  EXPECT_TRUE(refused_at_a);
  EXPECT_EQ(b.stats().get(StreamRefusal::kProtocol), 1u);
  EXPECT_EQ(b.stats().get(StreamRefusal::kMaxStreams), 0u);
}

}  // namespace
}  // namespace mp::host

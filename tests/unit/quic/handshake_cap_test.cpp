// One HandshakeTable for the whole host: TCP sockets stalled in the Noise
// handshake and QUIC Initials share MAX_HANDSHAKES and
// MAX_HANDSHAKES_PER_IP, and a newcomer on one transport may evict a
// stalled handshake on the other.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "quic/address.hpp"
#include "quic/quic_connection.hpp"
#include "quic/quic_transport.hpp"
#include "quic_fixture.hpp"
#include "tls/certificate.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kCap = 3;

// Listens on TCP and QUIC on 127.0.0.1; nothing but the cap ends a stalled
// handshake while a test runs.
host::HostConfig server_config() {
  host::HostConfig c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/127.0.0.1/tcp/0"),
                    *Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1")};
  c.ping_interval = std::chrono::hours(1);
  c.handshake_timeout = 600s;
  c.handshake_first_exchange_timeout = 600s;
  c.max_handshakes = 100;
  c.max_handshakes_per_ip = kCap;
  return c;
}

// A QUIC client whose datagrams leave from `ip`.
host::HostConfig client_config(const std::string& ip) { return test::quic_config(15s, ip); }

Multiaddr address_of(const host::Host& h, bool quic) {
  for (const auto& a : h.listen_addrs())
    if (is_quic(a) == quic) return a.with_peer_id(h.local_peer());
  throw std::runtime_error("no such listen address");
}

asio::ip::tcp::endpoint tcp_endpoint_of(const host::Host& h) {
  const auto ep = *address_of(h, false).without_peer_id().tcp_endpoint();
  return {asio::ip::make_address(ep.first), ep.second};
}

using test::eventually;

std::uint64_t refusals(const host::Host& h, host::Scope s, host::RefusalReason r) {
  return h.stats().refusals[static_cast<std::size_t>(s)][static_cast<std::size_t>(r)].load();
}

// Raw TCP sockets that connect and never speak: handshakes in progress.
asio::awaitable<std::vector<std::shared_ptr<asio::ip::tcp::socket>>> stalled_tcp(
    host::Host& b, std::size_t n) {
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> out;
  for (std::size_t i = 0; i < n; ++i) {
    auto s = std::make_shared<asio::ip::tcp::socket>(co_await asio::this_coro::executor);
    co_await s->async_connect(tcp_endpoint_of(b), asio::use_awaitable);
    out.push_back(std::move(s));
  }
  EXPECT_TRUE(co_await eventually([&] { return b.handshakes_in_progress() == n; }));
  co_return out;
}

struct DialResult {
  bool done = false;
  std::shared_ptr<host::Connection> conn;
  std::string error;
};

void start_dial(host::Host& a, Multiaddr target, DialResult& r) {
  asio::co_spawn(a.executor(), a.dial(std::move(target)),
                 [&r](std::exception_ptr e, std::shared_ptr<host::Connection> c) {
                   r.done = true;
                   r.conn = std::move(c);
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       r.error = ex.what();
                     }
                   }
                 });
}

asio::awaitable<void> tcp_holds_the_cap_then_quic_gets_in(host::Host& a, host::Host& b) {
  auto tcp = co_await stalled_tcp(b, kCap);
  // The QUIC client's Initials come from the same IP, whose quota TCP holds:
  // each is dropped and counted, and no connection is made.
  DialResult dial;
  start_dial(a, address_of(b, true), dial);
  const auto& dropped = b.quic().datagram_stats();
  EXPECT_TRUE(co_await eventually([&] { return dropped.get(DropReason::kHandshakes) >= 1; }));
  EXPECT_GE(refusals(b, host::Scope::kIp, host::RefusalReason::kHandshakes), 1u);
  EXPECT_FALSE(dial.done);
  EXPECT_TRUE(b.connections().empty());
  EXPECT_EQ(b.handshakes_in_progress(), kCap);
  // The TCP handshakes end; the client's next Initial (QUIC loss recovery
  // resends it) is admitted and the dial completes.
  for (auto& s : tcp) s->close();
  EXPECT_TRUE(co_await eventually([&] { return dial.done; }, 15s));
  EXPECT_TRUE(dial.conn) << dial.error;
  if (dial.conn) {
    EXPECT_TRUE(is_quic(dial.conn->remote_addr()));
  }
  EXPECT_TRUE(co_await eventually([&] { return b.connection_to(a.local_peer()) != nullptr; }));
  a.shutdown();
  b.shutdown();
}

TEST(HandshakeCap, TcpHandshakesInProgressHoldTheQuicQuotaOfTheirIp) {
  asio::io_context io;
  host::Host a(io.get_executor(), client_config("127.0.0.1"), Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), server_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, tcp_holds_the_cap_then_quic_gets_in(a, b), 30s);
  EXPECT_EQ(b.handshakes_in_progress(), 0u);
}

asio::awaitable<void> quic_evicts_a_stalled_tcp_handshake(host::Host& a, host::Host& b) {
  auto tcp = co_await stalled_tcp(b, kCap);
  // The table is full (kCap in all); a QUIC client from another IP evicts a
  // TCP handshake of the IP holding them all, and connects at once.
  DialResult dial;
  start_dial(a, address_of(b, true), dial);
  EXPECT_TRUE(co_await eventually([&] { return dial.done; }, 15s));
  EXPECT_TRUE(dial.conn) << dial.error;
  EXPECT_EQ(refusals(b, host::Scope::kNode, host::RefusalReason::kHandshakeEvicted), 1u);
  EXPECT_EQ(b.quic().datagram_stats().get(DropReason::kHandshakes), 0u);
  // One stalled socket was closed by the server; the others still wait.
  EXPECT_TRUE(co_await eventually([&] { return b.handshakes_in_progress() == kCap - 1; }));
  auto closed_by_server = [&] {
    std::size_t closed = 0;
    for (auto& s : tcp) {
      std::array<std::uint8_t, 1> byte{};
      std::error_code ec;
      s->non_blocking(true, ec);
      s->read_some(asio::buffer(byte), ec);
      if (ec && ec != asio::error::would_block) ++closed;
    }
    return closed;
  };
  EXPECT_TRUE(co_await eventually([&] { return closed_by_server() == 1; }));
  a.shutdown();
  b.shutdown();
}

TEST(HandshakeCap, QuicNewcomerEvictsAStalledTcpHandshakeAtTheNodeCap) {
  asio::io_context io;
  auto cfg = server_config();
  cfg.max_handshakes = kCap;
  host::Host a(io.get_executor(), client_config("127.0.0.2"), Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), cfg, Ed25519KeyPair::generate());
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, quic_evicts_a_stalled_tcp_handshake(a, b), 30s);
}

using test::client_initials;

asio::awaitable<void> flood_then_honest(host::Host& a, host::Host& b, asio::ip::udp::socket& sock,
                                        const std::vector<Bytes>& initials,
                                        asio::ip::udp::endpoint to) {
  for (const auto& d : initials) sock.send_to(asio::buffer(d), to);
  const auto& dropped = b.quic().datagram_stats();
  // kCap of them hold the IP's quota; every other one is dropped and counted.
  EXPECT_TRUE(co_await eventually([&] {
    return dropped.get(DropReason::kHandshakes) == initials.size() - kCap;
  }));
  EXPECT_EQ(b.handshakes_in_progress(), kCap);
  EXPECT_EQ(refusals(b, host::Scope::kIp, host::RefusalReason::kHandshakes),
            initials.size() - kCap);
  // An honest client from another IP still connects.
  DialResult dial;
  start_dial(a, address_of(b, true), dial);
  EXPECT_TRUE(co_await eventually([&] { return dial.done; }, 15s));
  EXPECT_TRUE(dial.conn) << dial.error;
  a.shutdown();
  b.shutdown();
}

TEST(HandshakeCap, InitialFloodFromOneIpIsDroppedWhileAnHonestClientConnects) {
  asio::io_context io;
  host::Host a(io.get_executor(), client_config("127.0.0.2"), Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), server_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  asio::ip::udp::socket sock(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto to = test::quic_endpoint_of(b);
  const auto initials = client_initials(io, sock.local_endpoint(), to, 40);
  ASSERT_EQ(initials.size(), 40u);
  for (const auto& d : initials) ASSERT_GE(d.size(), 1200u);  // padded client Initials
  test::run_in(io, flood_then_honest(a, b, sock, initials, to), 30s);
}

}  // namespace
}  // namespace mp::quic

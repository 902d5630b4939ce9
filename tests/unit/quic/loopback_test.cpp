// Two Hosts in one io_context over loopback QUIC: our transport against
// itself (TLS 1.3 with libp2p certificates, QUIC streams under
// multistream-select), and the refusals a wrong Peer ID or junk datagrams get.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "identify/service.hpp"
#include "ping/ping.hpp"
#include "ping/service.hpp"
#include "quic/address.hpp"
#include "quic/quic_transport.hpp"
#include "quic_fixture.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;

using test::quic_config;

constexpr std::string_view kEcho = "/test/echo/1.0.0";

using test::eventually;

asio::awaitable<void> dial_echo_ping(host::Host& a, host::Host& b, const identify::Service& ia,
                                      const identify::Service& ib) {
    auto conn = co_await a.dial(b.listen_addrs()[0].with_peer_id(b.local_peer()));
    EXPECT_EQ(conn->remote_peer(), b.local_peer());
    EXPECT_TRUE(is_quic(conn->remote_addr()));
    // 100 KiB through one stream: more than a stream window and the
    // unacknowledged-bytes cap, so flow control and acks must work.
    Bytes sent(100 * 1024);
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<std::uint8_t>(i * 7);
    // (GCC 12: no braced lists inside co_await.)
    std::vector<std::string> echo_protos{std::string(kEcho)};
    auto s = co_await conn->open_stream(std::move(echo_protos));
    EXPECT_EQ(s.protocol, kEcho);
    EXPECT_EQ(co_await test::echo_on(*s.stream, sent), sent);
    // Ping on a second stream, the host's own protocol.
    std::vector<std::string> ping_protos{std::string(ping::kProtocol)};
    auto p = co_await conn->open_stream(std::move(ping_protos));
    auto rtt = co_await ping::ping_once(*p.stream);
    EXPECT_GE(rtt.count(), 0);
    // The listener registered the connection with our Peer ID, and both
    // identified each other over QUIC streams.
    EXPECT_TRUE(co_await eventually([&] {
      auto in = b.connection_to(a.local_peer());
      return in && ib.info(in->id()) && ia.info(conn->id());
    }));
    auto in = b.connection_to(a.local_peer());
    EXPECT_TRUE(in && in->direction() == host::Direction::kInbound);
    if (in) {
      EXPECT_TRUE(is_quic(in->remote_addr()));
    }
    // Identify carries the QUIC listen address.
    const auto& listed = ia.info(conn->id())->listen_addrs;
    EXPECT_NE(std::find(listed.begin(), listed.end(), b.listen_addrs()[0]), listed.end());
    a.shutdown();
    b.shutdown();
}

TEST(QuicLoopback, DialOpensStreamsEchoesAndBothSidesKnowThePeer) {
  test::HostPair p;
  identify::Service ia(p.a), ib(p.b);
  ping::Service pb(p.b);
  p.b.set_handler(std::string(kEcho), test::serve_echo);
  ASSERT_TRUE(p.listen());
  ASSERT_EQ(p.b.listen_addrs().size(), 1u);
  ASSERT_TRUE(is_quic(p.b.listen_addrs()[0]));
  test::run_in(p.io, dial_echo_ping(p.a, p.b, ia, ib), 20s);
  // One thread (no network executors): every datagram is read where it
  // arrives, none handed over.
  EXPECT_GT(p.b.stats().bytes_in.load(), 0u);
  EXPECT_EQ(p.b.quic().datagram_stats().handed_over.load(), 0u);
}

asio::awaitable<void> dial_wrong_peer(host::Host& a, host::Host& b, bool& failed) {
  const PeerId someone_else = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  try {
    co_await a.dial(b.listen_addrs()[0].with_peer_id(someone_else));
  } catch (const std::exception&) {
    failed = true;
  }
  a.shutdown();
  b.shutdown();
}

TEST(QuicLoopback, WrongExpectedPeerFailsTheDial) {
  test::HostPair p;
  ASSERT_TRUE(p.listen());
  bool failed = false;
  test::run_in(p.io, dial_wrong_peer(p.a, p.b, failed), 20s);
  EXPECT_TRUE(failed);
  EXPECT_EQ(p.a.stats().get(host::HandshakeFailure::kPeerIdMismatch), 1u);
  EXPECT_EQ(p.a.connections().size(), 0u);
}

asio::awaitable<void> send_junk(host::Host& b, asio::ip::udp::socket& sock,
                                asio::ip::udp::endpoint to) {
  const auto& stats = b.quic().datagram_stats();
  sock.send_to(asio::buffer(std::string("\x01")), to);  // no header at all
  Bytes short_header(64, 0x41);  // for no connection of ours: a Stateless Reset
  sock.send_to(asio::buffer(short_header), to);
  Bytes initial(1200, 0);  // a long header whose packet length is 0: not an Initial
  initial[0] = 0xc0;
  initial[4] = 1;
  initial[5] = 8;
  sock.send_to(asio::buffer(initial), to);
  Bytes truncated(initial.begin(), initial.begin() + 100);  // an Initial under 1200 bytes
  sock.send_to(asio::buffer(truncated), to);
  EXPECT_TRUE(co_await eventually([&] {
    return stats.get(DropReason::kMalformed) + stats.get(StatelessAnswer::kStatelessReset) +
               stats.get(DropReason::kNotInitial) >= 4;
  }));
  b.shutdown();
}

TEST(QuicLoopback, JunkDatagramsAreDroppedAndCountedByReason) {
  asio::io_context io;
  host::Host b(io.get_executor(), quic_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  asio::ip::udp::socket sock(io, asio::ip::udp::endpoint(asio::ip::udp::v4(), 0));
  test::run_in(io, send_junk(b, sock, test::quic_endpoint_of(b)), 20s);
  const auto& stats = b.quic().datagram_stats();
  EXPECT_EQ(stats.get(DropReason::kMalformed), 1u);
  EXPECT_EQ(stats.get(DropReason::kUnknownConnection), 0u);
  EXPECT_EQ(stats.get(StatelessAnswer::kStatelessReset), 1u);
  EXPECT_EQ(stats.get(DropReason::kNotInitial), 2u);
  EXPECT_EQ(b.connections().size(), 0u);
}

}  // namespace
}  // namespace mp::quic

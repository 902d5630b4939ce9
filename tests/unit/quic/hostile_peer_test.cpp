// QUIC peers that misbehave over a real handshake against our transport:
// - one that stops acknowledging (its datagrams from us are lost, as when it
//   stops reading its UDP socket) while we write a large answer: the bytes we
//   hold for it stay within the unacknowledged cap of a stream, and all come
//   back when the connection ends;
// - one whose certificate lacks the libp2p extension, or carries a SignedKey
//   with a bad signature: refused, counted as a "tls" handshake failure, and
//   another client is still served.
#include <gtest/gtest.h>

#include <array>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "quic/address.hpp"
#include "quic/quic_connection.hpp"
#include "quic/quic_stream.hpp"
#include "quic/quic_transport.hpp"
#include "quic_client.hpp"
#include "quic_fixture.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"
#include "tls/certificate.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;
using asio::ip::udp;
using test::eventually;

using test::LossyRelay;
using test::quic_config;
using test::quic_endpoint_of;

constexpr std::string_view kBig = "/test/big-answer/1.0.0";
constexpr std::size_t kAnswer = 4 * 1024 * 1024;
constexpr std::size_t kChunk = 16 * 1024;

struct Answer {
  bool go = false;
  bool ended = false;
  bool completed = false;
  std::size_t written = 0;
  std::size_t max_held = 0;
};

// Waits for `go`, then writes kAnswer bytes, noting the most the budget held.
asio::awaitable<void> big_answer(host::StreamContext ctx, Answer& a, const host::ResourceBudget& budget) {
  co_await test::until([&] { return a.go; });
  Bytes chunk(kChunk, 0x42);
  try {
    while (a.written < kAnswer) {
      co_await ctx.stream->write(chunk);
      a.written += chunk.size();
      a.max_held = std::max(a.max_held, budget.node_held());
    }
    a.completed = true;
  } catch (const std::exception&) {
  }
  a.max_held = std::max(a.max_held, budget.node_held());
  a.ended = true;
}

asio::awaitable<void> silent_client(host::Host& a, host::Host& b, LossyRelay& relay, Answer& ans) {
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, relay.client_to_server(), asio::detached);
  asio::co_spawn(ex, relay.server_to_client(), asio::detached);
  auto conn = co_await a.dial(relay.address(b.local_peer()));
  std::vector<std::string> protos{std::string(kBig)};
  auto s = co_await conn->open_stream(std::move(protos));
  EXPECT_TRUE(co_await eventually([&] { return b.connections().size() == 1; }));
  // From now on the client hears nothing from us, and acknowledges nothing.
  relay.lose_to_client = true;
  ans.go = true;
  // Our writes stall once kMaxUnacked bytes wait for an acknowledgement;
  // the connection then ends (idle timeout) and the answer with it.
  EXPECT_TRUE(co_await eventually([&] { return ans.ended; }, 20s));
  EXPECT_TRUE(co_await eventually([&] { return b.connections().empty(); }, 20s));
  EXPECT_EQ(b.budget().node_held(), 0u);  // every reserved byte came back
  relay.close();
  a.shutdown();
  b.shutdown();
}

TEST(QuicHostilePeer, UnacknowledgedAnswerStaysWithinItsShareAndIsReleasedAtTheEnd) {
  auto server = quic_config();
  server.idle_timeout = 1500ms;  // ends the silent connection soon
  test::HostPair p(quic_config(), server);
  Answer ans;
  p.b.set_handler(std::string(kBig), [&](host::StreamContext ctx) { return big_answer(std::move(ctx), ans, p.b.budget()); });
  ASSERT_TRUE(p.listen());
  LossyRelay relay(p.io.get_executor(), quic_endpoint_of(p.b));
  test::run_in(p.io, silent_client(p.a, p.b, relay, ans), 40s);
  EXPECT_GT(relay.lost, 0u);
  EXPECT_FALSE(ans.completed);
  EXPECT_LT(ans.written, kAnswer);
  // The unacknowledged bytes were reserved (the budget saw them), never more
  // than a stream's unacknowledged cap plus the write in progress, far under
  // the connection's share.
  EXPECT_GE(ans.max_held, QuicStream::kMaxUnacked);
  EXPECT_LE(ans.max_held, QuicStream::kMaxUnacked + kChunk);
  EXPECT_LE(ans.max_held, p.b.budget().limits().per_connection);
}

// A QUIC client of our own stack with a certificate of the test's choosing,
// until its side of the handshake ends or is established; the server's
// verdict is read from its counters.
asio::awaitable<test::QuicClient> handshake_with(const tls::Certificate& cert, udp::endpoint server,
                                                 PeerId expected) {
  ConnectionSettings settings;
  settings.handshake_timeout = 3s;
  settings.idle_timeout = 3s;
  co_return co_await test::connect_client(server, expected, settings, &cert);
}

tls::CertificateSpec spec_for(const Ed25519KeyPair& id) {
  tls::CertificateSpec spec;
  spec.host_public_key = id.public_key().to_protobuf();
  spec.sign = [id](BytesView msg) { return id.sign(msg); };
  return spec;
}

std::uint64_t tls_failures(const host::Host& h) {
  return h.stats().handshake_failures_by_transport[static_cast<std::size_t>(host::Transport::kQuic)]
                                                  [static_cast<std::size_t>(host::HandshakeFailure::kTls)]
                                                      .load();
}

asio::awaitable<void> bad_certificates(host::Host& good, host::Host& b) {
  const Ed25519KeyPair key = Ed25519KeyPair::generate();
  auto no_extension = spec_for(key);
  no_extension.with_extension = false;
  auto bad_signature = spec_for(key);
  // The host key signs something other than "libp2p-tls-handshake:" + SPKI.
  bad_signature.sign = [key](BytesView msg) {
    Bytes other(msg.begin(), msg.end());
    other.back() = static_cast<std::uint8_t>(other.back() ^ 0x01u);
    return key.sign(other);
  };
  std::uint64_t expected_failures = 0;
  const std::array<const tls::CertificateSpec*, 2> specs{&no_extension, &bad_signature};
  for (const tls::CertificateSpec* spec : specs) {
    auto cert = tls::make_certificate(*spec);
    EXPECT_TRUE(cert) << cert.message();
    auto client = co_await handshake_with(cert.value(), quic_endpoint_of(b), b.local_peer());
    ++expected_failures;
    EXPECT_TRUE(co_await eventually([&] { return tls_failures(b) == expected_failures; }))
        << "tls failures: " << tls_failures(b);
    EXPECT_TRUE(b.connections().empty());  // never registered
    EXPECT_TRUE(co_await eventually([&] { return client.conn->terminated(); }));
    client.close();
  }
  // A well-behaved client is still served, and costs no failure.
  auto conn = co_await good.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
  EXPECT_EQ(conn->remote_peer(), b.local_peer());
  EXPECT_TRUE(co_await eventually([&] { return b.connections().size() == 1; }));
  EXPECT_EQ(tls_failures(b), expected_failures);
  good.shutdown();
  b.shutdown();
}

TEST(QuicHostilePeer, CertificateWithoutExtensionOrWithBadSignatureIsRefusedAsTls) {
  test::HostPair p;
  ASSERT_TRUE(p.listen());
  test::run_in(p.io, bad_certificates(p.a, p.b), 40s);
}

}  // namespace
}  // namespace mp::quic

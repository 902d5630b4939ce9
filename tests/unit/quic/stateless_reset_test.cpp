// Stateless Reset (RFC 9000 10.3) across a restart:
// - the reset secret derived from an identity key is stable for that key
//   and differs between keys; a reset is one byte smaller than the datagram
//   it answers (at most kMaxStatelessReset), ends with the token of the
//   datagram's connection ID, and tiny datagrams get none;
// - a client connected to a node that then stops (without telling it) and
//   is started again with the same identity on the same UDP port ends by a
//   Stateless Reset on its next write, which the node counts; a tiny short
//   header datagram gets no answer;
// - the same restart with another identity: the reset is sent, and the
//   client does not accept it (the token is what matters);
// - the index of dialled connections' reset tokens: matching by a
//   datagram's last 16 bytes, bounded per connection, one connection's
//   token not claimed by another, removed with its connection;
// - a node that dialled another, which then restarts with the same
//   identity on the same port: the dialled connection ends at the first
//   reset the restarted node sends (counted), and is not answered with a
//   reset of ours (the loop between two of our nodes stops there); a short
//   header whose tail is no token is still answered, and ends nothing.
#include <gtest/gtest.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "quic/address.hpp"
#include "quic/address_validation.hpp"
#include "quic/quic_connection.hpp"
#include "quic/quic_transport.hpp"
#include "quic/reset_tokens.hpp"
#include "quic_client.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"
#include "tls/certificate.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;
using asio::ip::udp;
using test::eventually;

TEST(QuicStatelessReset, SecretIsStablePerKeyAndResetsAreSmallerThanTheirDatagram) {
  const auto a = Ed25519KeyPair::from_seed_string("a");
  const auto b = Ed25519KeyPair::from_seed_string("b");
  const ResetSecret sa = derive_reset_secret(a.secret());
  EXPECT_EQ(sa, derive_reset_secret(Ed25519KeyPair::from_seed_string("a").secret()));
  EXPECT_NE(sa, derive_reset_secret(b.secret()));
  EXPECT_NE(sa, ResetSecret{});
  EXPECT_NE(ResetSecret(a.secret()), sa);  // not the key itself

  const std::string dcid(kCidLength, '\x5a');
  ngtcp2_cid cid{};
  cid.datalen = dcid.size();
  std::copy(dcid.begin(), dcid.end(), cid.data);
  std::array<std::uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN> token{};
  ASSERT_EQ(ngtcp2_crypto_generate_stateless_reset_token(token.data(), sa.data(), sa.size(), &cid),
            0);
  std::array<std::uint8_t, 1500> out{};
  EXPECT_EQ(write_stateless_reset(out, sa, dcid, kMinStatelessReset), 0u);
  EXPECT_EQ(write_stateless_reset(out, sa, dcid, kMinStatelessReset + 1), kMinStatelessReset);
  EXPECT_EQ(write_stateless_reset(out, sa, dcid, 30), 29u);
  const std::size_t n = write_stateless_reset(out, sa, dcid, 1200);
  ASSERT_EQ(n, kMaxStatelessReset);
  EXPECT_EQ(out[0] & 0xc0, 0x40);  // looks like a short header
  EXPECT_TRUE(std::equal(token.begin(), token.end(), out.begin() + static_cast<long>(n - token.size())));
}

host::HostConfig config_on(std::uint16_t port) {
  host::HostConfig c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/127.0.0.1/udp/" + std::to_string(port) + "/quic-v1")};
  c.ping_interval = std::chrono::hours(1);
  c.handshake_timeout = 3s;
  c.idle_timeout = 60s;
  return c;
}

udp::endpoint endpoint_of(const host::Host& h) {
  const auto ep = *quic_endpoint(h.listen_addrs().at(0));
  return {asio::ip::make_address(ep.first), ep.second};
}

// A client of our own stack whose idle timeout is far beyond the test's
// bounds: only a reset ends it.
asio::awaitable<test::QuicClient> connect(udp::endpoint server, PeerId expected) {
  ConnectionSettings settings;
  settings.handshake_timeout = 3s;
  settings.idle_timeout = 60s;
  auto c = co_await test::connect_client(server, expected, settings);
  EXPECT_TRUE(c.conn->established());
  co_return c;
}

// Connects a client to a node of identity `first`, stops that node without
// the client hearing it, starts one of identity `second` on the same port,
// and has the client write on its old connection.
struct Restart {
  test::QuicClient client;
  std::uint64_t resets_sent = 0;
  std::uint64_t unknown_before = 0;
};

asio::awaitable<void> write_something(std::shared_ptr<QuicConnection> conn) {
  try {
    auto s = co_await conn->open_stream();
    const std::array<std::uint8_t, 200> data{};
    co_await s->write(BytesView(data.data(), data.size()));
  } catch (const std::exception&) {
    // the connection ended under the write: what the test waits for
  }
}

asio::awaitable<void> restart_with(const Ed25519KeyPair& first, const Ed25519KeyPair& second,
                                   bool same_identity) {
  auto ex = co_await asio::this_coro::executor;
  auto old_node = std::make_unique<host::Host>(ex, config_on(0), first);
  EXPECT_TRUE(old_node->listen().ok());
  const udp::endpoint server = endpoint_of(*old_node);
  test::QuicClient c = co_await connect(server, old_node->local_peer());
  *c.deaf = true;
  old_node->shutdown();
  old_node.reset();
  const std::uint8_t marker = 0;
  c.socket->send_to(asio::buffer(&marker, 1), c.socket->local_endpoint());
  EXPECT_TRUE(co_await eventually([&] { return !*c.deaf; }));

  host::Host node(ex, config_on(server.port()), second);
  EXPECT_TRUE(node.listen().ok());
  EXPECT_EQ(endpoint_of(node), server);
  const auto& stats = node.quic().datagram_stats();
  const std::size_t heard_before = *c.heard;
  asio::co_spawn(ex, write_something(c.conn), asio::detached);

  EXPECT_TRUE(co_await eventually(
      [&] { return stats.get(StatelessAnswer::kStatelessReset) >= 1 && *c.heard > heard_before; }))
      << "resets sent " << stats.get(StatelessAnswer::kStatelessReset);
  if (same_identity) {
    EXPECT_TRUE(co_await eventually([&] { return c.conn->terminated(); }));
    EXPECT_EQ(c.conn->close_reason(), "stateless reset");

    // A short header too small to be answered by a smaller reset, then one
    // that is: the first answer to arrive is the second's (29 bytes).
    udp::socket raw(ex, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const std::uint64_t resets = stats.get(StatelessAnswer::kStatelessReset);
    const std::uint64_t unknown = stats.get(DropReason::kUnknownConnection);
    std::array<std::uint8_t, 30> dgram{};
    dgram.fill(0x41);
    raw.send_to(asio::buffer(dgram.data(), kMinStatelessReset), server);
    raw.send_to(asio::buffer(dgram.data(), dgram.size()), server);
    std::array<std::uint8_t, 100> in{};
    udp::endpoint from;
    const std::size_t n =
        co_await raw.async_receive_from(asio::buffer(in), from, asio::use_awaitable);
    EXPECT_EQ(n, dgram.size() - 1);
    EXPECT_EQ(stats.get(StatelessAnswer::kStatelessReset), resets + 1);
    EXPECT_EQ(stats.get(DropReason::kUnknownConnection), unknown + 1);
  } else {
    // The reset came in and was not taken: its token is not one the old
    // node gave.
    EXPECT_FALSE(c.conn->terminated()) << c.conn->close_reason();
    c.conn->abort("test over");
  }
  std::error_code ec;
  c.socket->close(ec);
  node.shutdown();
}

TEST(QuicStatelessReset, RestartWithTheSameIdentityResetsTheOldClientsConnection) {
  asio::io_context io;
  const auto key = Ed25519KeyPair::generate();
  test::run_in(io, restart_with(key, key, true), 30s);
}

TEST(QuicStatelessReset, RestartWithAnotherIdentityMakesResetsTheClientRefuses) {
  asio::io_context io;
  test::run_in(io, restart_with(Ed25519KeyPair::generate(), Ed25519KeyPair::generate(), false),
               30s);
}

ResetToken token_of(std::uint8_t fill) {
  ResetToken t{};
  t.fill(fill);
  return t;
}

Bytes datagram_ending_with(const ResetToken& t, std::size_t size) {
  Bytes d(size, 0x47);
  std::copy(t.begin(), t.end(), d.end() - static_cast<long>(t.size()));
  return d;
}

TEST(QuicResetTokenIndex, MatchesATailBoundsEachConnectionAndForgetsItsTokens) {
  ResetTokenIndex index;
  EXPECT_FALSE(index.match(datagram_ending_with(token_of(1), 40)));
  EXPECT_TRUE(index.add(token_of(1), 7));
  EXPECT_TRUE(index.add(token_of(1), 7));  // already there: not twice
  EXPECT_EQ(index.size(), 1u);
  EXPECT_FALSE(index.add(token_of(1), 8));  // another connection's
  EXPECT_EQ(index.match(datagram_ending_with(token_of(1), 40)), std::optional<std::uint64_t>(7));
  // A tail that differs in its last byte only, and a datagram too short
  // to be a reset, match nothing.
  ResetToken near = token_of(1);
  near.back() = 2;
  EXPECT_FALSE(index.match(datagram_ending_with(near, 40)));
  EXPECT_FALSE(index.match(datagram_ending_with(token_of(1), kMinStatelessReset - 1)));
  EXPECT_TRUE(index.match(datagram_ending_with(token_of(1), kMinStatelessReset)));
  for (std::uint8_t i = 2; i < 2 + ResetTokenIndex::kMaxTokensPerConnection - 1; ++i)
    EXPECT_TRUE(index.add(token_of(i), 7));
  EXPECT_FALSE(index.add(token_of(100), 7));  // over the bound
  EXPECT_EQ(index.size(), ResetTokenIndex::kMaxTokensPerConnection);
  EXPECT_TRUE(index.add(token_of(100), 8));
  index.remove(token_of(1), 8);  // not 8's: nothing happens
  EXPECT_TRUE(index.match(datagram_ending_with(token_of(1), 40)));
  index.remove(token_of(1), 7);
  EXPECT_FALSE(index.match(datagram_ending_with(token_of(1), 40)));
  index.remove_all(7);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.match(datagram_ending_with(token_of(100), 40)), std::optional<std::uint64_t>(8));
  index.remove_all(8);
  EXPECT_TRUE(index.empty());
}

udp::endpoint quic_endpoint_of(const host::Host& h) {
  for (const auto& m : h.listen_addrs()) {
    if (auto ep = quic_endpoint(m)) return {asio::ip::make_address(ep->first), ep->second};
  }
  throw std::runtime_error("no QUIC address");
}

asio::awaitable<void> write_on(std::shared_ptr<host::Connection> conn) {
  try {
    std::vector<std::string> protocols{"/test/nothing/1.0.0"};
    auto s = co_await conn->open_stream(std::move(protocols));
  } catch (const std::exception&) {
    // the connection ended under it: what the test waits for
  }
}

asio::awaitable<void> dialled_node_restarts(host::Host& a, const Ed25519KeyPair& key) {
  auto ex = co_await asio::this_coro::executor;
  auto b = std::make_unique<host::Host>(ex, config_on(0), key);
  EXPECT_TRUE(b->listen().ok());
  const udp::endpoint server = endpoint_of(*b);
  test::LossyRelay relay(ex, server);
  asio::co_spawn(ex, relay.client_to_server(), asio::detached);
  asio::co_spawn(ex, relay.server_to_client(), asio::detached);
  auto conn = co_await a.dial(relay.address(b->local_peer()));
  EXPECT_TRUE(co_await eventually([&] { return b->connections().size() == 1; }));
  const auto& a_stats = a.quic().datagram_stats();

  // A short header for no connection of ours whose tail is no token: still
  // answered with a reset, and our dialled connection lives on.
  udp::socket raw(ex, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::array<std::uint8_t, 40> junk{};
  junk.fill(0x41);
  raw.send_to(asio::buffer(junk), quic_endpoint_of(a));
  std::array<std::uint8_t, 100> in{};
  udp::endpoint from;
  const std::size_t n = co_await raw.async_receive_from(asio::buffer(in), from, asio::use_awaitable);
  EXPECT_EQ(n, junk.size() - 1);
  EXPECT_EQ(a_stats.get(StatelessAnswer::kStatelessReset), 1u);
  EXPECT_EQ(a_stats.resets_received.load(), 0u);
  EXPECT_TRUE(conn->is_open());

  // The server stops without the dialler hearing it, and comes back with
  // the same identity on the same port.
  relay.lose_to_client = true;
  b->shutdown();
  b.reset();
  relay.mark_end_of_loss();
  EXPECT_TRUE(co_await eventually([&] { return !relay.lose_to_client; }));
  host::Host b2(ex, config_on(server.port()), key);
  EXPECT_TRUE(b2.listen().ok());
  EXPECT_EQ(endpoint_of(b2), server);

  asio::co_spawn(ex, write_on(conn), asio::detached);
  EXPECT_TRUE(co_await eventually([&] { return a_stats.resets_received.load() == 1; }))
      << "resets received " << a_stats.resets_received.load();
  EXPECT_TRUE(co_await eventually([&] { return !conn->is_open() && a.connections().empty(); }));
  // The restarted node's reset was taken, not answered: the dialler sent
  // no reset beyond the junk's.
  EXPECT_EQ(a_stats.get(StatelessAnswer::kStatelessReset), 1u);
  EXPECT_GE(b2.quic().datagram_stats().get(StatelessAnswer::kStatelessReset), 1u);
  relay.close();
  b2.shutdown();
  a.shutdown();
}

TEST(QuicStatelessReset, DialledConnectionEndsAtTheFirstResetOfARestartedServer) {
  asio::io_context io;
  auto dialler = config_on(0);
  host::Host a(io.get_executor(), dialler, Ed25519KeyPair::generate());
  ASSERT_TRUE(a.listen().ok());
  test::run_in(io, dialled_node_restarts(a, Ed25519KeyPair::generate()), 30s);
}

}  // namespace
}  // namespace mp::quic

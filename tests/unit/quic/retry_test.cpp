// The QUIC listener's stateless defences (quic/address_validation.hpp):
// - Retry tokens on their own: a fresh token gives back the client's
//   original Destination Connection ID; an expired one, one for another
//   address or connection ID, or under another secret, is refused;
// - with QUIC_RETRY=always, our own client completes the handshake after
//   one Retry and the counters say so; a forged token is dropped and counted
//   without a Retry or a connection;
// - with QUIC_RETRY=auto, clients are retried only while half of the
//   handshake slots (TCP and QUIC together) are taken;
// - NEW_TOKEN tokens: bound to the client's IP (not its port), expiring,
//   under their own secret; the dialling side keeps at most a bound of
//   them, least recently stored dropped first, each used once; a client
//   that comes back with its token is not retried under QUIC_RETRY=always,
//   while one with a token of another address is, and the token is only
//   counted as ignored;
// - a 1200-byte long header packet of an unknown version is answered with
//   Version Negotiation listing QUIC v1; a small one is not answered.
#include <gnutls/crypto.h>
#include <gtest/gtest.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "quic/address.hpp"
#include "quic/address_validation.hpp"
#include "quic/quic_connection.hpp"
#include "quic/quic_transport.hpp"
#include "quic_client.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"
#include "tls/certificate.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;
using asio::ip::udp;
using test::eventually;

constexpr ngtcp2_tstamp kSecond = NGTCP2_SECONDS;

ngtcp2_cid cid_of(std::uint8_t fill, std::size_t len) {
  ngtcp2_cid c{};
  c.datalen = len;
  std::fill_n(c.data, len, fill);
  return c;
}

// An Initial's header as a client sends it after a Retry: `token` and the
// Retry's Source Connection ID as its Destination Connection ID.
ngtcp2_pkt_hd initial_with(std::vector<std::uint8_t>& token, const ngtcp2_cid& dcid) {
  ngtcp2_pkt_hd hd{};
  hd.version = NGTCP2_PROTO_VER_V1;
  hd.dcid = dcid;
  hd.scid = cid_of(0x33, 8);
  hd.token = ngtcp2_vec{token.data(), token.size()};
  return hd;
}

TEST(QuicRetryToken, FreshTokenGivesTheOriginalCidAndStaleOrForeignOnesAreRefused) {
  std::array<std::uint8_t, 32> secret{};
  secret.fill(7);
  const RetryTokens tokens(secret);
  const udp::endpoint client(asio::ip::make_address("192.0.2.1"), 4242);
  const ngtcp2_cid odcid = cid_of(0x11, 12);
  const ngtcp2_cid retry_scid = cid_of(0x22, kCidLength);
  const ngtcp2_tstamp issued = 1000 * kSecond;
  std::vector<std::uint8_t> token(NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN);
  const auto n = ngtcp2_crypto_generate_retry_token(
      token.data(), secret.data(), secret.size(), NGTCP2_PROTO_VER_V1,
      reinterpret_cast<const ngtcp2_sockaddr*>(client.data()),
      static_cast<ngtcp2_socklen>(client.size()), &retry_scid, &odcid, issued);
  ASSERT_GT(n, 0);
  token.resize(static_cast<std::size_t>(n));
  auto hd = initial_with(token, retry_scid);
  ASSERT_TRUE(has_retry_token(hd));

  const auto fresh = tokens.verify(hd, client, issued + kSecond);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(ngtcp2_cid_eq(&*fresh, &odcid));
  // Expired: kRetryTokenLifetime later.
  EXPECT_FALSE(tokens.verify(hd, client, issued + 11 * kSecond));
  // Another address (port) than the one it was issued to.
  EXPECT_FALSE(tokens.verify(hd, udp::endpoint(client.address(), 4243), issued + kSecond));
  // Another Destination Connection ID than the Retry's Source Connection ID.
  auto other_dcid = initial_with(token, cid_of(0x23, kCidLength));
  EXPECT_FALSE(tokens.verify(other_dcid, client, issued + kSecond));
  // Another process's secret.
  std::array<std::uint8_t, 32> other{};
  other.fill(8);
  EXPECT_FALSE(RetryTokens(other).verify(hd, client, issued + kSecond));
  // One byte changed.
  token[token.size() / 2] ^= 0x01;
  EXPECT_FALSE(tokens.verify(hd, client, issued + kSecond));
}

TEST(QuicRetryToken, RetryIsSmallAndAutoModeStartsAtHalfTheHandshakeSlots) {
  const RetryTokens tokens;
  std::vector<std::uint8_t> none;
  auto hd = initial_with(none, cid_of(0x11, 8));
  std::array<std::uint8_t, 1500> out{};
  const std::size_t n =
      tokens.write_retry(out, hd, udp::endpoint(asio::ip::make_address("::1"), 1), 5 * kSecond);
  ASSERT_GT(n, 0u);
  EXPECT_LT(n, 3 * kMinInitialDatagram / 6);  // far under the 3x amplification bound
  EXPECT_FALSE(retry_required(host::QuicRetry::kAuto, 127, 256));
  EXPECT_TRUE(retry_required(host::QuicRetry::kAuto, 128, 256));
  EXPECT_TRUE(retry_required(host::QuicRetry::kAlways, 0, 256));
  EXPECT_FALSE(retry_required(host::QuicRetry::kNever, 256, 256));
}

TEST(QuicVersionNegotiation, AnswerIsNeverLargerThanTheDatagramAndTheBucketBoundsIt) {
  std::array<std::uint8_t, 1500> out{};
  const std::string dcid(20, 'd');
  const std::string scid(20, 's');
  EXPECT_EQ(write_version_negotiation(out, dcid, scid, 40), 0u);
  const std::size_t n = write_version_negotiation(out, dcid, scid, kMinInitialDatagram);
  EXPECT_EQ(n, 7u + 20 + 20 + 4);
  TokenBucket bucket(1, 2);
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  EXPECT_TRUE(bucket.take(t0));
  EXPECT_TRUE(bucket.take(t0));
  EXPECT_FALSE(bucket.take(t0));
  EXPECT_FALSE(bucket.take(t0 + 500ms));
  EXPECT_TRUE(bucket.take(t0 + 1500ms));
}

host::HostConfig quic_config(host::QuicRetry retry) {
  host::HostConfig c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1")};
  c.ping_interval = std::chrono::hours(1);
  c.handshake_timeout = 3s;
  c.quic_retry = retry;
  return c;
}

udp::endpoint endpoint_of(const host::Host& h) {
  const auto ep = *quic_endpoint(h.listen_addrs().at(0));
  return {asio::ip::make_address(ep.first), ep.second};
}

asio::awaitable<void> dial_through_retry(host::Host& a, host::Host& b) {
  auto conn = co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
  EXPECT_EQ(conn->remote_peer(), b.local_peer());
  EXPECT_TRUE(co_await eventually([&] { return b.connections().size() == 1; }));
  a.shutdown();
  b.shutdown();
}

TEST(QuicRetry, ForcedRetryClientCompletesTheHandshakeAfterOneRetry) {
  asio::io_context io;
  host::Host a(io.get_executor(), quic_config(host::QuicRetry::kNever), Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), quic_config(host::QuicRetry::kAlways),
               Ed25519KeyPair::generate());
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, dial_through_retry(a, b), 20s);
  const auto& stats = b.quic().datagram_stats();
  EXPECT_EQ(stats.get(StatelessAnswer::kRetry), 1u);
  EXPECT_EQ(stats.tokens_accepted.load(), 1u);
  EXPECT_EQ(stats.tokens_refused.load(), 0u);
  EXPECT_EQ(stats.get(DropReason::kToken), 0u);
  EXPECT_EQ(a.quic().datagram_stats().get(StatelessAnswer::kRetry), 0u);
}

// Raw TCP sockets that connect and never speak hold handshake slots.
asio::awaitable<void> stall_tcp(host::Host& b, std::vector<asio::ip::tcp::socket>& out,
                                std::size_t n) {
  asio::ip::tcp::endpoint to;
  for (const auto& a : b.listen_addrs()) {
    if (is_quic(a)) continue;
    const auto ep = *a.tcp_endpoint();
    to = asio::ip::tcp::endpoint(asio::ip::make_address(ep.first), ep.second);
  }
  for (std::size_t i = 0; i < n; ++i) {
    out.emplace_back(co_await asio::this_coro::executor);
    co_await out.back().async_connect(to, asio::use_awaitable);
  }
  EXPECT_TRUE(co_await eventually([&] { return b.handshakes_in_progress() == out.size(); }));
}

asio::awaitable<void> retry_under_load(host::Host& a, host::Host& c, host::Host& b) {
  const auto& stats = b.quic().datagram_stats();
  const Multiaddr target = [&] {
    for (const auto& m : b.listen_addrs())
      if (is_quic(m)) return m.with_peer_id(b.local_peer());
    throw std::runtime_error("no QUIC address");
  }();
  std::vector<asio::ip::tcp::socket> tcp;
  // One slot of four taken: no Retry.
  co_await stall_tcp(b, tcp, 1);
  auto to_b = co_await a.dial(target);
  EXPECT_TRUE(to_b);
  EXPECT_EQ(stats.get(StatelessAnswer::kRetry), 0u);
  // Two of four: the next client is asked to validate its address first.
  co_await stall_tcp(b, tcp, 1);
  auto retried = co_await c.dial(target);
  EXPECT_TRUE(retried);
  EXPECT_EQ(stats.get(StatelessAnswer::kRetry), 1u);
  EXPECT_EQ(stats.tokens_accepted.load(), 1u);
  EXPECT_TRUE(co_await eventually([&] { return b.connections().size() == 2; }));
  for (auto& s : tcp) s.close();
  a.shutdown();
  c.shutdown();
  b.shutdown();
}

TEST(QuicRetry, AutoRetriesOnlyWhileHalfTheHandshakeSlotsAreTaken) {
  asio::io_context io;
  auto server = quic_config(host::QuicRetry::kAuto);
  server.listen_addrs.push_back(*Multiaddr::parse("/ip4/127.0.0.1/tcp/0"));
  server.max_handshakes = 4;
  server.handshake_timeout = 600s;  // the stalled TCP sockets stay in the table
  server.handshake_first_exchange_timeout = 600s;
  host::Host b(io.get_executor(), server, Ed25519KeyPair::generate());
  host::Host a(io.get_executor(), quic_config(host::QuicRetry::kAuto), Ed25519KeyPair::generate());
  host::Host c(io.get_executor(), quic_config(host::QuicRetry::kAuto), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(c.listen().ok());
  test::run_in(io, retry_under_load(a, c, b), 30s);
}

// Our own client, whose first Initial carries a token we never issued.
asio::awaitable<void> forged_token(host::Host& b) {
  ConnectionSettings settings;
  settings.handshake_timeout = 3s;
  settings.initial_token.assign(1, static_cast<char>(NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY));
  std::array<std::uint8_t, 90> forged{};
  gnutls_rnd(GNUTLS_RND_NONCE, forged.data(), forged.size());
  settings.initial_token.append(reinterpret_cast<const char*>(forged.data()), forged.size());
  test::QuicClient client =
      test::start_client(co_await asio::this_coro::executor, endpoint_of(b), b.local_peer(), settings);
  const auto& conn = client.conn;
  const auto& stats = b.quic().datagram_stats();
  EXPECT_TRUE(co_await eventually([&] { return stats.get(DropReason::kToken) >= 1; }));
  EXPECT_EQ(stats.tokens_refused.load(), stats.get(DropReason::kToken));
  EXPECT_EQ(stats.tokens_accepted.load(), 0u);
  EXPECT_EQ(stats.get(StatelessAnswer::kRetry), 0u);  // a bad token is not retried
  EXPECT_EQ(b.handshakes_in_progress(), 0u);          // and holds no slot
  EXPECT_TRUE(b.connections().empty());
  EXPECT_FALSE(conn->established());
  client.close();
  b.shutdown();
}

TEST(QuicRetry, ForgedTokenIsDroppedAndCountedWithoutState) {
  asio::io_context io;
  host::Host b(io.get_executor(), quic_config(host::QuicRetry::kAlways),
               Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, forged_token(b), 20s);
}

// A long header packet of version 0x1a2a3a4a (reserved for negotiation
// tests, RFC 9000 15) with 8-byte connection IDs `dcid` and `scid`.
Bytes unknown_version(std::size_t size, std::uint8_t dcid, std::uint8_t scid) {
  Bytes d(size, 0);
  const std::array<std::uint8_t, 5> head = {0xc0, 0x1a, 0x2a, 0x3a, 0x4a};
  std::copy(head.begin(), head.end(), d.begin());
  d[5] = 8;
  std::fill_n(d.begin() + 6, 8, dcid);
  d[14] = 8;
  std::fill_n(d.begin() + 15, 8, scid);
  return d;
}

asio::awaitable<void> negotiate(host::Host& b, udp::socket& sock, Bytes& answer) {
  const auto& stats = b.quic().datagram_stats();
  sock.send_to(asio::buffer(unknown_version(100, 0x44, 0x55)), endpoint_of(b));
  EXPECT_TRUE(co_await eventually([&] { return stats.get(DropReason::kVersion) == 1; }));
  sock.send_to(asio::buffer(unknown_version(kMinInitialDatagram, 0x11, 0x22)), endpoint_of(b));
  // The first answer on the socket is the one to the large packet: the
  // small one, read before it, got none.
  std::array<std::uint8_t, 2048> buf{};
  udp::endpoint from;
  const auto n = co_await sock.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
  answer.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  b.shutdown();
}

TEST(QuicVersionNegotiation, UnknownVersionInitialGetsVersionNegotiationListingV1) {
  asio::io_context io;
  host::Host b(io.get_executor(), quic_config(host::QuicRetry::kAuto), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  udp::socket sock(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Bytes vn;
  test::run_in(io, negotiate(b, sock, vn), 20s);
  // RFC 9000 17.2.1: long header, version 0, the client's IDs swapped, then
  // the versions.
  ASSERT_EQ(vn.size(), 7u + 8 + 8 + 4);
  EXPECT_NE(vn[0] & 0x80, 0);
  EXPECT_EQ(Bytes(vn.begin() + 1, vn.begin() + 5), Bytes(4, 0));
  EXPECT_EQ(vn[5], 8);
  EXPECT_EQ(Bytes(vn.begin() + 6, vn.begin() + 14), Bytes(8, 0x22));
  EXPECT_EQ(vn[14], 8);
  EXPECT_EQ(Bytes(vn.begin() + 15, vn.begin() + 23), Bytes(8, 0x11));
  EXPECT_EQ(Bytes(vn.begin() + 23, vn.end()), (Bytes{0, 0, 0, 1}));
  const auto& stats = b.quic().datagram_stats();
  EXPECT_EQ(stats.get(StatelessAnswer::kVersionNegotiation), 1u);
  EXPECT_EQ(stats.get(DropReason::kVersion), 1u);
  EXPECT_EQ(b.connections().size(), 0u);
}

TEST(QuicNewToken, TokenBindsTheIpNotThePortAndExpires) {
  const TokenSecret secret = derive_token_secret(Ed25519KeyPair::from_seed_string("a").secret());
  EXPECT_EQ(secret, derive_token_secret(Ed25519KeyPair::from_seed_string("a").secret()));
  EXPECT_NE(secret, derive_reset_secret(Ed25519KeyPair::from_seed_string("a").secret()));
  const udp::endpoint client(asio::ip::make_address("192.0.2.7"), 4000);
  const ngtcp2_tstamp t0 = 1000 * kSecond;
  std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN> out{};
  const std::size_t n = write_new_token(out, secret, client, t0);
  ASSERT_GT(n, 0u);
  std::vector<std::uint8_t> token(out.begin(), out.begin() + static_cast<long>(n));
  const ngtcp2_pkt_hd hd = initial_with(token, cid_of(0x44, 8));
  EXPECT_TRUE(has_new_token(hd));
  EXPECT_FALSE(has_retry_token(hd));
  EXPECT_TRUE(verify_new_token(hd, secret, client, t0 + kSecond));
  const udp::endpoint other_port(client.address(), 5000);
  EXPECT_TRUE(verify_new_token(hd, secret, other_port, t0 + kSecond));
  const udp::endpoint other_ip(asio::ip::make_address("192.0.2.8"), 4000);
  EXPECT_FALSE(verify_new_token(hd, secret, other_ip, t0 + kSecond));
  const ngtcp2_tstamp lifetime = static_cast<ngtcp2_tstamp>(kNewTokenLifetime.count()) * kSecond;
  EXPECT_FALSE(verify_new_token(hd, secret, client, t0 + lifetime + kSecond));
  TokenSecret another = secret;
  another[0] ^= 1;
  EXPECT_FALSE(verify_new_token(hd, another, client, t0 + kSecond));
}

TEST(QuicNewToken, StoreIsBoundedDropsTheOldestAndGivesEachTokenOnce) {
  TokenStore store(3);
  store.put("a", "1");
  store.put("b", "2");
  store.put("c", "3");
  store.put("a", "4");  // replaces a's, now the most recent
  EXPECT_EQ(store.size(), 3u);
  store.put("d", "5");  // b is the least recently stored
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.take("b"));
  EXPECT_EQ(store.take("a"), std::optional<std::string>("4"));
  EXPECT_FALSE(store.take("a"));  // used once
  EXPECT_EQ(store.size(), 2u);
  TokenStore big;
  for (int i = 0; i < 1500; ++i) big.put(std::to_string(i), "t");
  EXPECT_EQ(big.size(), TokenStore::kDefaultCapacity);
  EXPECT_FALSE(big.take("0"));
  EXPECT_TRUE(big.take("1499"));
}

asio::awaitable<void> come_back_with_token(host::Host& a, host::Host& b) {
  const auto& stats = b.quic().datagram_stats();
  const Multiaddr target = b.listen_addrs().at(0).with_peer_id(b.local_peer());
  auto first = co_await a.dial(target);
  EXPECT_EQ(stats.get(StatelessAnswer::kRetry), 1u);
  // b's NEW_TOKEN follows the handshake.
  EXPECT_TRUE(co_await eventually([&] { return a.quic().stored_tokens() == 1; }));
  first->close("test");
  EXPECT_TRUE(co_await eventually([&] { return b.connections().empty(); }));
  auto second = co_await a.dial(target);
  EXPECT_EQ(second->remote_peer(), b.local_peer());
  EXPECT_EQ(stats.get(StatelessAnswer::kRetry), 1u);  // none for the second
  EXPECT_EQ(stats.new_tokens_accepted.load(), 1u);
  EXPECT_EQ(stats.new_tokens_ignored.load(), 0u);
  EXPECT_EQ(stats.tokens_accepted.load(), 1u);  // the first's Retry token
  a.shutdown();
  b.shutdown();
}

TEST(QuicNewToken, ReturningClientIsNotRetriedWithRetryAlways) {
  asio::io_context io;
  host::Host a(io.get_executor(), quic_config(host::QuicRetry::kNever), Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), quic_config(host::QuicRetry::kAlways),
               Ed25519KeyPair::generate());
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, come_back_with_token(a, b), 30s);
}

// A client on 127.0.0.1 presenting a genuine token of the server's, but
// made for another address.
asio::awaitable<void> token_of_another_address(host::Host& b, const Ed25519KeyPair& b_key) {
  std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN> out{};
  const std::size_t n =
      write_new_token(out, derive_token_secret(b_key.secret()),
                      udp::endpoint(asio::ip::make_address("127.0.0.2"), 1), QuicConnection::now());
  EXPECT_GT(n, 0u);
  ConnectionSettings settings;
  settings.handshake_timeout = 3s;
  settings.initial_token.assign(reinterpret_cast<const char*>(out.data()), n);
  test::QuicClient client = co_await test::connect_client(endpoint_of(b), b.local_peer(), settings);
  const auto& stats = b.quic().datagram_stats();
  EXPECT_TRUE(client.conn->established());  // through the Retry
  EXPECT_EQ(stats.get(StatelessAnswer::kRetry), 1u);
  EXPECT_EQ(stats.new_tokens_ignored.load(), 1u);
  EXPECT_EQ(stats.new_tokens_accepted.load(), 0u);
  EXPECT_EQ(stats.tokens_accepted.load(), 1u);
  EXPECT_EQ(stats.get(DropReason::kToken), 0u);  // not an error
  client.close();
  b.shutdown();
}

TEST(QuicNewToken, TokenOfAnotherAddressIsIgnoredAndTheClientRetried) {
  asio::io_context io;
  const auto key = Ed25519KeyPair::generate();
  host::Host b(io.get_executor(), quic_config(host::QuicRetry::kAlways), key);
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, token_of_another_address(b, key), 20s);
}

}  // namespace
}  // namespace mp::quic

// DhtService over real Hosts on 127.0.0.1 in one io_context: bootstrap and
// self-lookup discover a peer only a bootstrap peer knows, a routing-table
// peer that cannot be dialled is removed, a silent peer fails the request
// after the request timeout.
#include "kad/dht_service.hpp"

#include <gtest/gtest.h>

#include "support/kad_peer.hpp"
#include "support/loopback_host.hpp"
#include "support/run_coro.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>

#include "kad/server.hpp"
#include "net/buffered_reader.hpp"

namespace mp::kad {
namespace {

using namespace std::chrono_literals;

host::HostConfig loopback_config() {
  host::HostConfig c = test::loopback_config();
  c.dial_timeout = 2s;
  return c;
}

KadConfig loopback_kad() {
  KadConfig c;
  c.allow_private_addrs = true;
  c.diversity.enabled = false;
  c.request_timeout = 300ms;
  return c;
}

// A peer wired as app/node.cpp wires the node (support/kad_peer.hpp).
struct KadPeer : test::KadPeer {
  explicit KadPeer(asio::io_context& io, KadConfig config = loopback_kad())
      : test::KadPeer(io, std::move(config), loopback_config()) {}
};

void run(asio::io_context& io, std::function<asio::awaitable<void>()> body,
         std::chrono::seconds limit = 20s) {
  test::run_in(io, body(), limit);
}

asio::awaitable<void> wait_until(std::function<bool()> cond) {
  for (int i = 0; i < 300 && !cond(); ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, 10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> discover(KadPeer& b, KadPeer& c, DhtService& dht, RefreshSummary* out) {
  // c is known to b only.
  co_await c.host.dial(b.addr());
  co_await wait_until([&] { return b.kad.routing_table().contains(c.host.local_peer()); });
  co_await dht.bootstrap();
  *out = co_await dht.refresh();
}

TEST(DhtService, BootstrapAndRefreshFindAPeerOnlyTheBootstrapPeerKnows) {
  asio::io_context io;
  KadPeer a(io), b(io), c(io);
  DhtServiceConfig dc;
  dc.bootstrap_peers = {b.addr()};
  DhtService dht(io.get_executor(), a.host, a.kad, dc);
  RefreshSummary summary;
  run(io, [&] { return discover(b, c, dht, &summary); });
  EXPECT_TRUE(a.kad.routing_table().contains(b.host.local_peer()));
  // Learned from b's answer, dialled, identified, inserted.
  EXPECT_TRUE(a.kad.routing_table().contains(c.host.local_peer()));
  EXPECT_TRUE(a.host.connection_to(c.host.local_peer()));
  EXPECT_GE(summary.lookups, 1u);
  EXPECT_EQ(summary.table_size, 2u);
  EXPECT_GE(dht.stats().requests_sent.load(), 2u);
  EXPECT_EQ(dht.stats().requests_failed.load(), 0u);
}

// A loopback port nobody listens on.
std::uint16_t closed_port(asio::io_context& io) {
  asio::ip::tcp::acceptor acc(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acc.local_endpoint().port();
}

asio::awaitable<void> lookup_once(DhtService& dht, Bytes key, LookupResult* out) {
  *out = co_await dht.find_closest(std::move(key));
}

TEST(DhtService, UndialablePeerLeavesTheRoutingTable) {
  asio::io_context io;
  KadPeer a(io);
  auto ghost = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  const auto dead = *Multiaddr::parse("/ip4/127.0.0.1/tcp/" + std::to_string(closed_port(io)));
  ASSERT_EQ(a.kad.on_peer_identified(ghost, {dead}, true, Clock::now()).outcome,
            UpdateOutcome::kInserted);
  DhtService dht(io.get_executor(), a.host, a.kad, DhtServiceConfig{});
  std::vector<std::pair<MessageType, bool>> observed;
  dht.set_request_observer(
      [&](MessageType t, Duration, bool ok) { observed.emplace_back(t, ok); });
  LookupResult r;
  Bytes key(a.host.local_peer().bytes().begin(), a.host.local_peer().bytes().end());
  run(io, [&] { return lookup_once(dht, key, &r); });
  EXPECT_EQ(r.failures, 1u);
  EXPECT_TRUE(r.closest.empty());
  EXPECT_FALSE(a.kad.routing_table().contains(ghost));
  EXPECT_EQ(dht.stats().removed_unreachable.load(), 1u);
  EXPECT_EQ(dht.stats().dial_failures.load(), 1u);
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0].first, pb::Message_MessageType_FIND_NODE);
  EXPECT_FALSE(observed[0].second);
}

// Reads a request and never answers (until the stream goes away).
asio::awaitable<void> silent(host::StreamContext ctx) {
  net::BufferedReader reader(*ctx.stream);
  try {
    (void)co_await reader.read_length_prefixed(kMaxMessageSize);
    (void)co_await reader.read_length_prefixed(kMaxMessageSize);
  } catch (const std::exception&) {
  }
}

asio::awaitable<void> ask_silent(DhtService& dht, PeerInfo peer, std::string* error) {
  try {
    Message req = make_ping();
    (void)co_await dht.send(std::move(peer), std::move(req));
  } catch (const std::exception& e) {
    *error = e.what();
  }
}

TEST(DhtService, SilentPeerFailsAfterTheRequestTimeout) {
  asio::io_context io;
  KadPeer a(io);
  host::Host d(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  d.set_handler(std::string(kDefaultProtocol), [](host::StreamContext ctx) { return silent(ctx); });
  ASSERT_TRUE(d.listen().ok());
  PeerInfo peer{d.local_peer(), {d.listen_addrs().at(0)}, pb::Message_ConnectionType_NOT_CONNECTED};
  // The silent peer is in the table: a timeout on a live connection must
  // not remove it (only dial failures do).
  ASSERT_EQ(a.kad.on_peer_identified(d.local_peer(), peer.addrs, true, Clock::now()).outcome,
            UpdateOutcome::kInserted);
  DhtService dht(io.get_executor(), a.host, a.kad, DhtServiceConfig{});
  std::string error;
  run(io, [&] { return ask_silent(dht, peer, &error); });
  EXPECT_NE(error.find("timeout"), std::string::npos) << error;
  EXPECT_TRUE(a.kad.routing_table().contains(d.local_peer()));
  EXPECT_EQ(dht.stats().requests_failed.load(), 1u);
}

}  // namespace
}  // namespace mp::kad

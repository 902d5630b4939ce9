// Every family of module_metrics.hpp moves when the event it counts happens,
// read back from the rendered /metrics text: Kademlia refusals, the DHT
// client's counters, inbound and outbound request latency (real Hosts on
// 127.0.0.1). Dropped log lines: logging_test.cpp.
#include "app/module_metrics.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>
#include <string>

#include "kad/server.hpp"
#include "support/kad_peer.hpp"
#include "support/loopback_host.hpp"
#include "support/run_coro.hpp"

namespace mp::app {
namespace {

using namespace std::chrono_literals;

// The sample line `series value` of a rendered exposition, or "" when absent.
std::string sample(const std::string& text, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const auto at = text.find(prefix);
  if (at == std::string::npos) return "";
  const auto start = at + prefix.size();
  return text.substr(start, text.find('\n', start) - start);
}

kad::KadConfig loopback_kad() {
  kad::KadConfig c;
  c.allow_private_addrs = true;
  c.diversity.enabled = false;
  c.request_timeout = 2s;
  return c;
}

// Serving peers (support/kad_peer.hpp) whose routing tables hold only what
// the test puts there: identify is not fed to them.
struct KadPeer : test::KadPeer {
  explicit KadPeer(asio::io_context& io)
      : test::KadPeer(io, loopback_kad(), test::loopback_config(), /*feed_identify=*/false) {}
};

TEST(ModuleMetrics, KadRefusalsAreRenderedByReason) {
  http::MetricRegistry registry;
  auto local = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  auto remote = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  kad::Kademlia kad(local, loopback_kad(), kad::Clock::now());
  add_kad_metrics(registry, kad.counters());
  const std::string series = "mepassa_kad_refusals_total{reason=\"missing_record\"}";
  EXPECT_EQ(sample(registry.render(), series), "0");
  kad::Message put;
  put.set_type(kad::pb::Message_MessageType_PUT_VALUE);
  put.set_key("/v/key");  // no record
  EXPECT_FALSE(kad.handle(remote, put, kad::Clock::now()).has_value());
  EXPECT_EQ(sample(registry.render(), series), "1");
}

asio::awaitable<void> ask_then_lookup(kad::DhtService& dht, kad::PeerInfo server, Bytes key,
                                      const http::Histogram& served) {
  (void)co_await dht.send(std::move(server), kad::make_find_node(key));
  (void)co_await dht.find_closest(std::move(key));
  // The server's write completion may still be queued behind our read.
  for (int i = 0; i < 500 && served.count() == 0; ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, 10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
}

TEST(ModuleMetrics, DhtCountersAndBothLatenciesMoveWithRealRequests) {
  asio::io_context io;
  KadPeer a(io), b(io);
  // One routing-table peer nobody listens for: the lookup's dial fails and
  // the peer is removed.
  std::uint16_t dead_port = 0;
  {
    asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = acc.local_endpoint().port();
  }
  auto ghost = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  const auto dead = *Multiaddr::parse("/ip4/127.0.0.1/tcp/" + std::to_string(dead_port));
  ASSERT_EQ(a.kad.on_peer_identified(ghost, {dead}, true, kad::Clock::now()).outcome,
            kad::UpdateOutcome::kInserted);

  http::MetricRegistry registry_a, registry_b;
  http::NodeMetrics metrics_a(registry_a, "test"), metrics_b(registry_b, "test");
  kad::DhtService dht_a(io.get_executor(), a.host, a.kad, kad::DhtServiceConfig{});
  kad::DhtService dht_b(io.get_executor(), b.host, b.kad, kad::DhtServiceConfig{});
  add_dht_metrics(registry_a, dht_a.stats());
  observe_kad_latency(a.kad, dht_a, metrics_a);
  observe_kad_latency(b.kad, dht_b, metrics_b);

  const auto before = registry_a.render();
  for (const char* s : {"mepassa_kad_outbound_requests_total", "mepassa_kad_outbound_request_failures_total",
                        "mepassa_kad_dial_failures_total", "mepassa_kad_unreachable_removed_total",
                        "mepassa_kad_lookups_total", "mepassa_kad_refreshes_total",
                        "mepassa_kad_outbound_request_duration_seconds_count"}) {
    EXPECT_EQ(sample(before, s), "0") << s;
  }

  kad::PeerInfo server{b.host.local_peer(), {b.host.listen_addrs().at(0)},
                       kad::pb::Message_ConnectionType_NOT_CONNECTED};
  Bytes key(a.host.local_peer().bytes().begin(), a.host.local_peer().bytes().end());
  test::run_in(io, ask_then_lookup(dht_a, server, key, metrics_b.kad_request_duration));

  const auto after = registry_a.render();
  // The answered FIND_NODE, then the lookup's request to the ghost.
  EXPECT_EQ(sample(after, "mepassa_kad_outbound_requests_total"), "2");
  EXPECT_EQ(sample(after, "mepassa_kad_outbound_request_failures_total"), "1");
  EXPECT_EQ(sample(after, "mepassa_kad_dial_failures_total"), "1");
  EXPECT_EQ(sample(after, "mepassa_kad_unreachable_removed_total"), "1");
  EXPECT_EQ(sample(after, "mepassa_kad_lookups_total"), "1");
  // Only answered requests are timed: the failed dial is not.
  EXPECT_EQ(sample(after, "mepassa_kad_outbound_request_duration_seconds_count"), "1");
  EXPECT_EQ(sample(after, "mepassa_kad_request_duration_seconds_count"), "0");
  // b answered one inbound request; its own lookups never ran.
  const auto served = registry_b.render();
  EXPECT_EQ(sample(served, "mepassa_kad_request_duration_seconds_count"), "1");
  EXPECT_EQ(sample(served, "mepassa_kad_outbound_request_duration_seconds_count"), "0");
}

// mepassa_log_messages_dropped_total: logging_test.cpp (real drops).

}  // namespace
}  // namespace mp::app

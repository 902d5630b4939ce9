// /api/status: the JSON built from a StatusSnapshot (pure), the rings the
// network thread keeps for it, and the status page's routes over real HTTP
// on 127.0.0.1 (headers, HTTP_DASHBOARD=false).
#include "http/status.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/http_server.hpp"
#include "http/metrics.hpp"
#include "raw_client.hpp"

namespace mp::http {
namespace {

const std::string kEvil = "<img src=x onerror=alert(1)>";

StatusSnapshot sample() {
  StatusSnapshot s;
  s.health.peer_count = 3;
  s.health.routing_table_size = 5;
  s.health.peer_id = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
  s.health.listen_addrs = {"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW"};
  s.health.storage.total_peers = 10;
  s.health.storage.total_addresses = 25;
  s.health.storage.stale_peers = 2;
  s.connections.inbound = 4;
  s.connections.outbound = 1;
  s.connections.by_transport = {3, 2, 0};
  s.history.push_back({1000, s.connections});
  s.routing.k = 20;
  s.routing.bucket_fill[255] = 3;
  s.routing.bucket_fill[254] = 2;
  s.routing.rejected_diversity = 7;
  s.relay.enabled = true;
  s.relay.reservations = 2;
  s.relay.max_reservations = 100;
  s.relay.bytes_relayed = 12345;
  s.autonat.ok = 1;
  s.autonat.dial_error = 2;
  s.store.enabled = true;
  s.store.queue_depth = 6;
  s.store.queue_capacity = 4096;
  s.store.write_failures = 1;
  ConnectionEvent e;
  e.unix_ms = 1'700'000'000'000;
  e.peer_id = "12D3KooWpeer";
  e.address = "/ip4/127.0.0.1/tcp/5555";
  e.agent = kEvil;
  e.transport = Transport::kTcp4;
  s.events.push_back(e);
  return s;
}

TEST(RenderStatus, CarriesEveryPanelsNumbers) {
  const auto j = nlohmann::json::parse(render_status(sample(), 42, 3600, "1.2.3"));
  EXPECT_EQ(j.at("now_ms"), 42);
  EXPECT_EQ(j.at("version"), "1.2.3");
  EXPECT_EQ(j.at("uptime_seconds"), 3600);
  EXPECT_EQ(j.at("health").at("status"), "OK");
  EXPECT_FALSE(j.at("health").contains("reason"));
  EXPECT_EQ(j.at("peer_id"), "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN");
  EXPECT_EQ(j.at("listen_addrs").size(), 1u);
  const auto& c = j.at("connections");
  EXPECT_EQ(c.at("inbound"), 4);
  EXPECT_EQ(c.at("outbound"), 1);
  EXPECT_EQ(c.at("by_transport").at("tcp/ip4"), 3);
  EXPECT_EQ(c.at("by_transport").at("tcp/ip6"), 2);
  ASSERT_EQ(c.at("history").size(), 1u);
  EXPECT_EQ(c.at("history")[0].at("t"), 1000);
  EXPECT_EQ(c.at("history")[0].at("inbound"), 4);
  const auto& r = j.at("routing");
  EXPECT_EQ(r.at("size"), 5);  // the /health figure
  ASSERT_EQ(r.at("buckets").size(), 256u);
  EXPECT_EQ(r.at("buckets")[255], 3);
  EXPECT_EQ(r.at("buckets")[0], 0);
  EXPECT_EQ(r.at("rejected_diversity"), 7);
  EXPECT_EQ(j.at("relay").at("reservations"), 2);
  EXPECT_EQ(j.at("relay").at("max_reservations"), 100);
  EXPECT_EQ(j.at("relay").at("bytes_relayed"), 12345);
  EXPECT_EQ(j.at("autonat").at("dial_error"), 2);
  const auto& st = j.at("store");
  EXPECT_EQ(st.at("rows"), 25);
  EXPECT_EQ(st.at("peers"), 10);
  EXPECT_EQ(st.at("stale_peers"), 2);
  EXPECT_EQ(st.at("queue_depth"), 6);
  EXPECT_EQ(st.at("write_failures"), 1);
  ASSERT_EQ(j.at("events").size(), 1u);
  EXPECT_EQ(j.at("events")[0].at("kind"), "connect");
  EXPECT_EQ(j.at("events")[0].at("transport"), "tcp/ip4");
  EXPECT_FALSE(j.at("events")[0].contains("reason"));
}

TEST(RenderStatus, DegradedCarriesTheReasonInWords) {
  auto s = sample();
  s.health.storage.ok = false;
  s.health.storage.failure = "peer store writes are failing (3 failed transactions)";
  const auto j = nlohmann::json::parse(render_status(s, 0, 0, "v"));
  EXPECT_EQ(j.at("health").at("status"), "DEGRADED");
  EXPECT_EQ(j.at("health").at("reason"),
            "storage: peer store writes are failing (3 failed transactions)");
}

TEST(RenderStatus, PeerStringsArriveRawForThePageToEscape) {
  auto s = sample();
  s.events[0].address = "/dns4/\"quoted\"\\back\n";
  s.events[0].reason = "</script><script>alert(1)</script>";
  s.events[0].connected = false;
  const std::string body = render_status(s, 0, 0, "v");
  const auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j.at("events")[0].at("agent"), kEvil);
  EXPECT_EQ(j.at("events")[0].at("address"), "/dns4/\"quoted\"\\back\n");
  EXPECT_EQ(j.at("events")[0].at("reason"), "</script><script>alert(1)</script>");
  EXPECT_EQ(j.at("events")[0].at("kind"), "disconnect");
}

TEST(RenderStatus, InvalidUtf8IsReplacedNotThrown) {
  auto s = sample();
  s.events[0].agent = std::string("agent\xff\xfe", 7);
  const auto j = nlohmann::json::parse(render_status(s, 0, 0, "v"));
  EXPECT_EQ(j.at("events")[0].at("agent"), "agent\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(RenderStatus, SizeIsBoundedWhateverTheSnapshotHolds) {
  StatusSnapshot s = sample();
  // Control characters are the worst case: six bytes each in JSON.
  const std::string huge(2000, '\x01');
  s.health.listen_addrs.assign(100, huge);
  s.history.assign(10'000, ConnectionSample{1, s.connections});
  ConnectionEvent e;
  e.peer_id = e.address = e.agent = e.reason = huge;
  e.connected = false;
  s.events.assign(200, e);
  const std::string body = render_status(s, 0, 0, "v");
  EXPECT_LT(body.size(), 256u * 1024u);
  const auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j.at("listen_addrs").size(), kMaxStatusAddrs);
  EXPECT_EQ(j.at("connections").at("history").size(), kMaxStatusSamples);
  ASSERT_EQ(j.at("events").size(), kMaxStatusEvents);
  EXPECT_EQ(j.at("events")[0].at("agent").get<std::string>().size(), kMaxAgentBytes);
  EXPECT_EQ(j.at("events")[0].at("address").get<std::string>().size(), kMaxAddressBytes);
}

TEST(TruncateUtf8, NeverSplitsASequence) {
  EXPECT_EQ(truncate_utf8("abc", 10), "abc");
  EXPECT_EQ(truncate_utf8("abcdef", 3), "abc");
  // "é" is two bytes (C3 A9): cutting at 2 would leave C3 alone.
  EXPECT_EQ(truncate_utf8("a\xC3\xA9z", 2), "a");
  EXPECT_EQ(truncate_utf8("a\xC3\xA9z", 3), "a\xC3\xA9");
  // A four-byte sequence (U+1F600) cut anywhere inside goes whole.
  EXPECT_EQ(truncate_utf8("\xF0\x9F\x98\x80!", 3), "");
}

TEST(ConnectionEvents, KeepsTheMostRecentAndFillsTheAgentLater) {
  ConnectionEvents ev;
  for (std::uint64_t id = 1; id <= kMaxStatusEvents + 10; ++id) {
    ev.connected(static_cast<std::int64_t>(id), id, true, Transport::kTcp4, "peer", "/ip4/1.2.3.4/tcp/1");
  }
  auto all = ev.events();
  ASSERT_EQ(all.size(), kMaxStatusEvents);
  EXPECT_EQ(all.front().unix_ms, 11);  // the oldest ten gave way
  EXPECT_EQ(all.back().unix_ms, static_cast<std::int64_t>(kMaxStatusEvents + 10));
  ev.set_agent(kMaxStatusEvents + 10, std::string(1000, 'a'));
  ev.set_agent(3, "gone");  // no longer in the ring: nothing happens
  all = ev.events();
  EXPECT_EQ(all.back().agent, std::string(kMaxAgentBytes, 'a'));
  ev.disconnected(99, kMaxStatusEvents + 10, true, Transport::kTcp4, "peer", "a", "agent", "idle timeout");
  all = ev.events();
  ASSERT_EQ(all.size(), kMaxStatusEvents);
  EXPECT_FALSE(all.back().connected);
  EXPECT_EQ(all.back().reason, "idle timeout");
  EXPECT_EQ(all.back().agent, "agent");
}

TEST(ConnectionTally, CountsByDirectionAndTransport) {
  ConnectionTally t;
  t.opened(true, Transport::kTcp4);
  t.opened(true, Transport::kTcp6);
  t.opened(false, Transport::kTcp4);
  t.closed(true, Transport::kTcp6);
  EXPECT_EQ(t.counts().inbound, 1u);
  EXPECT_EQ(t.counts().outbound, 1u);
  EXPECT_EQ(t.counts().by_transport[0], 2u);
  EXPECT_EQ(t.counts().by_transport[1], 0u);
  t.closed(true, Transport::kTcp6);  // never below zero
  EXPECT_EQ(t.counts().by_transport[1], 0u);
}

TEST(ConnectionHistory, OneSamplePerIntervalForAnHour) {
  ConnectionHistory h(30);
  ConnectionCounts c;
  for (std::int64_t t = 0; t < 2 * 3600; ++t) {
    c.inbound = static_cast<std::uint64_t>(t);
    h.maybe_sample(t, c);
  }
  ASSERT_EQ(h.samples().size(), kMaxStatusSamples);
  EXPECT_EQ(h.samples().back().unix_seconds, 2 * 3600 - 30);
  EXPECT_EQ(h.samples().front().unix_seconds, 3600);
  EXPECT_EQ(h.samples().back().counts.inbound, static_cast<std::uint64_t>(2 * 3600 - 30));
}

class StatusRoutesTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpServer> start(bool dashboard) {
    HttpServerOptions o;
    o.version = "9.8.7";
    o.dashboard = dashboard;
    o.status = state.source();
    auto s = std::make_unique<HttpServer>(registry, HealthSource{}, o);
    EXPECT_TRUE(s->start("127.0.0.1", 0).ok());
    return s;
  }
  MetricRegistry registry;
  StatusState state;
};

TEST_F(StatusRoutesTest, PageAssetsAndJsonWithTheirHeaders) {
  state.publish(sample());
  auto server = start(true);
  const auto page = testing::request(server->port(), "GET", "/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<script src=\"/status.js\""), std::string::npos);
  const auto csp = page->header("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(page->header("x-content-type-options"), "nosniff");

  const auto js = testing::request(server->port(), "GET", "/status.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js->body.find("/api/status"), std::string::npos);
  // The page never parses data as HTML.
  EXPECT_EQ(js->body.find("innerHTML"), std::string::npos);
  const auto css = testing::request(server->port(), "GET", "/status.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->status, 200);
  EXPECT_EQ(css->header("content-type"), "text/css; charset=utf-8");

  const auto api = testing::request(server->port(), "GET", "/api/status");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
  EXPECT_EQ(api->header("content-type"), "application/json");
  EXPECT_EQ(api->header("cache-control"), "no-store");
  const auto j = nlohmann::json::parse(api->body);
  EXPECT_EQ(j.at("version"), "9.8.7");
  EXPECT_EQ(j.at("events")[0].at("agent"), kEvil);

  // Read-only: nothing but GET and HEAD.
  const auto post = testing::request(server->port(), "POST", "/api/status");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(StatusRoutesTest, DashboardOffIs404ButHealthAndMetricsStay) {
  auto server = start(false);
  for (const char* path : {"/", "/status.js", "/status.css", "/api/status"}) {
    const auto r = testing::request(server->port(), "GET", path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
  }
  for (const char* path : {"/health", "/metrics"}) {
    const auto r = testing::request(server->port(), "GET", path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
  }
}

}  // namespace
}  // namespace mp::http

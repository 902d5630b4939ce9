// /health and /metrics over real HTTP on 127.0.0.1 with an ephemeral port.
#include "http/http_server.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "http/health.hpp"
#include "http/metrics.hpp"
#include "http/node_metrics.hpp"

namespace mp::http {
namespace {

HealthSnapshot sample_snapshot() {
  HealthSnapshot s;
  s.peer_count = 42;
  s.routing_table_size = 17;
  s.storage.total_peers = 1000;
  s.storage.total_addresses = 2500;
  s.storage.stale_peers = 12;
  s.peer_id = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
  s.listen_addrs = {"/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001"};
  return s;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state.publish(sample_snapshot());
    HttpServerOptions o;
    o.version = "9.8.7";
    o.started_at = std::chrono::steady_clock::now() - std::chrono::seconds(3600);
    server = std::make_unique<HttpServer>(registry, state.source(), o);
    auto st = server->start("127.0.0.1", 0);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_NE(server->port(), 0);
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_connection_timeout(5);
    client->set_read_timeout(5);
  }

  MetricRegistry registry;
  NodeMetrics metrics{registry, "9.8.7"};
  HealthState state;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<httplib::Client> client;
};

TEST_F(HttpServerTest, HealthReturnsRustFieldsAndExtensions) {
  auto res = client->Get("/health");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const auto j = nlohmann::json::parse(res->body);
  // The Rust node's fields, same names and types.
  EXPECT_EQ(j.at("status"), "OK");
  EXPECT_EQ(j.at("peer_count"), 42);
  EXPECT_GE(j.at("uptime_seconds").get<std::uint64_t>(), 3600u);
  EXPECT_LT(j.at("uptime_seconds").get<std::uint64_t>(), 3600u + 600u);
  // Ours.
  EXPECT_EQ(j.at("storage").at("total_peers"), 1000);
  EXPECT_EQ(j.at("storage").at("total_addresses"), 2500);
  EXPECT_EQ(j.at("storage").at("stale_peers"), 12);
  EXPECT_EQ(j.at("routing_table_size"), 17);
  EXPECT_EQ(j.at("peer_id"), "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN");
  EXPECT_EQ(j.at("listen_addrs"), nlohmann::json({"/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001"}));
  EXPECT_EQ(j.at("version"), "9.8.7");
  EXPECT_FALSE(j.contains("reason"));
}

TEST_F(HttpServerTest, HealthFollowsPublishedSnapshots) {
  auto s = sample_snapshot();
  s.peer_count = 7;
  state.publish(s);
  auto res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(nlohmann::json::parse(res->body).at("peer_count"), 7);
}

TEST_F(HttpServerTest, FailingStorageIsDegraded503) {
  auto s = sample_snapshot();
  s.storage.ok = false;
  s.storage.failure = "disk full (SQLITE_FULL)";
  state.publish(s);
  auto res = client->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  const auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j.at("status"), "DEGRADED");
  EXPECT_NE(j.at("reason").get<std::string>().find("disk full"), std::string::npos);
  EXPECT_EQ(j.at("peer_count"), 42);
}

TEST_F(HttpServerTest, MetricsServesPrometheusTextWithCurrentValues) {
  metrics.opened(Direction::kInbound).inc(5);
  metrics.routing_table_size.set(17);
  metrics.kad_request(KadRequest::kGetProviders).inc(3);
  auto res = client->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res->body.find("mepassa_connections_opened_total{direction=\"inbound\"} 5\n"),
            std::string::npos);
  EXPECT_NE(res->body.find("\nmepassa_routing_table_size 17\n"), std::string::npos);
  EXPECT_NE(res->body.find("mepassa_kad_requests_total{type=\"get_providers\"} 3\n"),
            std::string::npos);
  EXPECT_NE(res->body.find("# HELP mepassa_routing_table_size "), std::string::npos);
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  for (const char* path : {"/", "/healthz", "/health/", "/metrics/x", "/favicon.ico"}) {
    auto res = client->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
  auto res = client->Post("/nope", "x", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(HttpServerTest, WrongMethodIs405) {
  auto post = client->Post("/health", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  auto put = client->Put("/metrics", "x", "text/plain");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  auto del = client->Delete("/health");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  auto head = client->Head("/health");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
}

TEST_F(HttpServerTest, ManySequentialClientsAreServed) {
  // More connections than workers plus pending slots, each a new client.
  for (int i = 0; i < 200; ++i) {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(5);
    auto res = c.Get("/health");
    ASSERT_TRUE(res) << i;
    ASSERT_EQ(res->status, 200);
  }
}

TEST(HttpServer, ConcurrentClientsBeyondThePoolAreAllServed) {
  MetricRegistry registry;
  HealthState state;
  Counter waits;
  HttpServerOptions o;
  o.worker_threads = 1;
  o.max_pending = 1;  // the accept thread has to wait for the worker
  o.saturated = &waits;
  HttpServer server(registry, state.source(), o);
  ASSERT_TRUE(server.start("127.0.0.1", 0).ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        httplib::Client c("127.0.0.1", server.port());
        c.set_read_timeout(10);
        c.set_keep_alive(false);
        auto res = c.Get(i % 2 == 0 ? "/health" : "/metrics");
        if (res && res->status == 200) ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 40);
  server.stop();
}

TEST(HttpServer, StopIsIdempotentAndFreesThePort) {
  MetricRegistry registry;
  HealthState state;
  HttpServer server(registry, state.source());
  ASSERT_TRUE(server.start("127.0.0.1", 0).ok());
  const auto port = server.port();
  EXPECT_FALSE(server.start("127.0.0.1", 0).ok());  // already started
  server.stop();
  server.stop();
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  EXPECT_FALSE(c.Get("/health"));  // nobody listens any more
}

TEST(HttpServer, ReportsABusyPort) {
  MetricRegistry registry;
  HealthState state;
  HttpServer first(registry, state.source());
  ASSERT_TRUE(first.start("127.0.0.1", 0).ok());
  HttpServer second(registry, state.source());
  auto st = second.start("127.0.0.1", first.port());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << st.message();
}

TEST(HttpServer, ImmediateStopDoesNotHang) {
  MetricRegistry registry;
  HealthState state;
  for (int i = 0; i < 20; ++i) {
    HttpServer server(registry, state.source());
    ASSERT_TRUE(server.start("127.0.0.1", 0).ok());
  }  // destructor stops
}

TEST(Health, RenderIsPureAndKeepsRustFieldOrder) {
  HealthSnapshot s;
  s.peer_count = 1;
  const auto r = render_health(s, 5, "0.1.0");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.rfind("{\"status\":\"OK\",\"peer_count\":1,\"uptime_seconds\":5,", 0), 0u)
      << r.body;
}

}  // namespace
}  // namespace mp::http

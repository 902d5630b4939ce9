// /health and /metrics over real HTTP on 127.0.0.1 with an ephemeral port,
// and the server's defences against slow, idle, numerous and malformed
// clients (short deadlines and small caps configured per test).
#include "http/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "http/health.hpp"
#include "http/http_metrics.hpp"
#include "http/metrics.hpp"
#include "http/node_metrics.hpp"
#include "raw_client.hpp"

namespace mp::http {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::request;

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

// Polls `done` for up to 10 s: for state the server reaches asynchronously.
template <typename F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

const std::string kGetHealth = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state.publish(sample_snapshot());
    HttpServerOptions o;
    o.version = "9.8.7";
    o.started_at = std::chrono::steady_clock::now() - std::chrono::seconds(3600);
    o.metrics = &http_metrics;
    server = std::make_unique<HttpServer>(registry, state.source(), o);
    auto st = server->start("127.0.0.1", 0);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_NE(server->port(), 0);
  }

  MetricRegistry registry;
  NodeMetrics metrics{registry, "9.8.7"};
  HttpMetrics http_metrics{registry};
  HealthState state;
  std::unique_ptr<HttpServer> server;
};

TEST_F(HttpServerTest, HealthReturnsRustFieldsAndExtensions) {
  auto res = request(server->port(), "GET", "/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->header("content-type"), "application/json");
  EXPECT_EQ(res->header("cache-control"), "no-store");
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
  auto res = request(server->port(), "GET", "/health?verbose=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(nlohmann::json::parse(res->body).at("peer_count"), 7);
}

TEST_F(HttpServerTest, FailingStorageIsDegraded503) {
  auto s = sample_snapshot();
  s.storage.ok = false;
  s.storage.failure = "disk full (SQLITE_FULL)";
  state.publish(s);
  auto res = request(server->port(), "GET", "/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  const auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j.at("status"), "DEGRADED");
  EXPECT_NE(j.at("reason").get<std::string>().find("disk full"), std::string::npos);
  EXPECT_EQ(j.at("peer_count"), 42);
  EXPECT_EQ(http_metrics.request(HttpOutcome::kDegraded).value(), 1u);
}

TEST_F(HttpServerTest, MetricsServesPrometheusTextWithCurrentValues) {
  metrics.routing_table_size.set(17);
  metrics.kad_request(KadRequest::kGetProviders).inc(3);
  auto res = request(server->port(), "GET", "/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res->body.find("\nmepassa_routing_table_size 17\n"), std::string::npos);
  EXPECT_NE(res->body.find("mepassa_kad_requests_total{type=\"get_providers\"} 3\n"),
            std::string::npos);
  EXPECT_NE(res->body.find("# HELP mepassa_routing_table_size "), std::string::npos);
  // The server's own counters, as of before this request was answered.
  EXPECT_NE(res->body.find("mepassa_http_connections_accepted_total 1\n"), std::string::npos);
  EXPECT_NE(res->body.find("mepassa_http_timeouts_total{phase=\"head\"} 0\n"), std::string::npos);
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  for (const char* path : {"/index.html", "/healthz", "/health/", "/metrics/x", "/favicon.ico"}) {
    auto res = request(server->port(), "GET", path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
  auto res = request(server->port(), "POST", "/nope", "x");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(http_metrics.request(HttpOutcome::kNotFound).value(), 6u);
}

TEST_F(HttpServerTest, WrongMethodIs405) {
  auto post = request(server->port(), "POST", "/health", "{}");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->header("allow"), "GET, HEAD");
  auto put = request(server->port(), "PUT", "/metrics", "x");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  auto del = request(server->port(), "DELETE", "/health");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
}

TEST_F(HttpServerTest, HeadIsGetWithoutTheBody) {
  RawConnection c(server->port());
  ASSERT_TRUE(c.send("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n" + kGetHealth));
  auto head = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_NE(head->header("content-length"), "0");
  // The next response starts right after the head: no body was sent.
  auto get = c.read_response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(std::to_string(get->body.size()), head->header("content-length"));
}

TEST_F(HttpServerTest, PipelinedRequestsInOneWriteAreAnsweredInOrder) {
  RawConnection c(server->port());
  ASSERT_TRUE(c.send(kGetHealth + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" +
                     "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = c.read_response();
  auto second = c.read_response();
  auto third = c.read_response();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(nlohmann::json::parse(first->body).at("peer_count"), 42);
  EXPECT_EQ(second->status, 404);
  EXPECT_EQ(third->status, 200);
  EXPECT_NE(third->body.find("# TYPE mepassa_"), std::string::npos);
  EXPECT_EQ(third->header("connection"), "keep-alive");
  // And the connection is still usable.
  ASSERT_TRUE(c.send(kGetHealth));
  auto fourth = c.read_response();
  ASSERT_TRUE(fourth);
  EXPECT_EQ(fourth->status, 200);
}

TEST_F(HttpServerTest, PipelinedRequestsSplitAcrossWritesAreAnsweredInOrder) {
  RawConnection c(server->port());
  const std::string three = kGetHealth + "GET /nope HTTP/1.1\r\n\r\n" + kGetHealth;
  for (std::size_t i = 0; i < three.size(); i += 7) ASSERT_TRUE(c.send(three.substr(i, 7)));
  auto a = c.read_response();
  auto b = c.read_response();
  auto d = c.read_response();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->status, 404);
  EXPECT_EQ(d->status, 200);
}

TEST_F(HttpServerTest, Http10AndConnectionCloseAreHonoured) {
  {
    RawConnection c(server->port());
    ASSERT_TRUE(c.send("GET /health HTTP/1.0\r\n\r\n"));
    auto res = c.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
  }
  {
    RawConnection c(server->port());
    ASSERT_TRUE(c.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto res = c.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->header("connection"), "keep-alive");
    ASSERT_TRUE(c.send("GET /metrics HTTP/1.0\r\n\r\n"));
    auto again = c.read_response();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    EXPECT_TRUE(c.wait_closed());
  }
  {
    // Requests pipelined after "Connection: close" are not answered.
    RawConnection c(server->port());
    ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n" + kGetHealth));
    auto res = c.read_response();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
    EXPECT_EQ(c.dropped(), "");
  }
}

TEST_F(HttpServerTest, GarbageGets400AndClose) {
  RawConnection c(server->port());
  // The start of a TLS ClientHello, as from a client that got the scheme wrong.
  static constexpr char kTls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n";
  ASSERT_TRUE(c.send(std::string(kTls, sizeof kTls - 1)));
  auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(http_metrics.request(HttpOutcome::kBadRequest).value(), 1u);
  // Others are still served.
  auto ok = request(server->port(), "GET", "/health");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServerTest, OversizedHeadGets431AndClose) {
  RawConnection c(server->port());
  const std::string big = "GET /health HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n";
  ASSERT_TRUE(c.send(big));
  auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 431);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(http_metrics.request(HttpOutcome::kHeadTooLarge).value(), 1u);
}

TEST_F(HttpServerTest, OversizedBodyGets413AndClose) {
  RawConnection c(server->port());
  ASSERT_TRUE(c.send("POST /health HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\nxx"));
  auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(HttpServerTest, ManySequentialClientsAreServed) {
  for (int i = 0; i < 300; ++i) {
    auto res = request(server->port(), "GET", "/health");
    ASSERT_TRUE(res) << i;
    ASSERT_EQ(res->status, 200);
  }
  EXPECT_EQ(http_metrics.connections_refused.value(), 0u);
  EXPECT_EQ(http_metrics.connections_accepted.value(), 300u);
}

TEST_F(HttpServerTest, ConcurrentClientsAreAllServed) {
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto res = request(server->port(), "GET", i % 2 == 0 ? "/health" : "/metrics");
        if (res && res->status == 200) ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 80);
}

// A server with the given options; deadlines a test does not exercise are an
// hour, so that only the deadline under test can close a connection.
struct Fixture {
  // `metrics_padding` bytes of comment lines make every /metrics response big.
  explicit Fixture(HttpServerOptions o, std::size_t metrics_padding = 0) {
    state.publish(sample_snapshot());
    if (metrics_padding > 0) {
      registry.add_collector([metrics_padding](std::string& out) {
        for (std::size_t n = 0; n < metrics_padding; n += 64)
          out += "# " + std::string(61, 'p') + "\n";
      });
    }
    o.metrics = &m;
    server = std::make_unique<HttpServer>(registry, state.source(), o);
    EXPECT_TRUE(server->start("127.0.0.1", 0).ok());
  }
  static HttpServerOptions patient() {
    HttpServerOptions o;
    o.request_timeout = 1h;
    o.idle_timeout = 1h;
    o.write_timeout = 1h;
    return o;
  }
  std::uint16_t port() const { return server->port(); }

  MetricRegistry registry;
  HttpMetrics m{registry};
  HealthState state;
  std::unique_ptr<HttpServer> server;
};

TEST(HttpServerDeadlines, HeadTrickledPastTheRequestDeadlineIsClosed) {
  auto o = Fixture::patient();
  o.request_timeout = 300ms;
  Fixture f(o);
  RawConnection slow(f.port());
  // One byte every 20 ms of a head that would take 4 s to finish; the
  // server must cut it off at the request deadline, not when it ends.
  const std::string head = "GET /health HTTP/1.1\r\nX-Slow: " + std::string(190, 'a') + "\r\n\r\n";
  bool closed = false;
  std::size_t sent = 0;
  for (; sent < head.size() - 4 && !closed; ++sent) {
    if (!slow.send(head.substr(sent, 1))) break;
    closed = slow.closed_within(20ms);
    if (sent == 2) {
      // Meanwhile an honest client is served.
      auto res = request(f.port(), "GET", "/health");
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 200);
    }
  }
  EXPECT_TRUE(closed || slow.wait_closed()) << "sent " << sent << " bytes";
  EXPECT_LT(sent, head.size() - 4) << "the head was never cut off";
  EXPECT_EQ(slow.dropped(), "");  // no response to a partial request
  EXPECT_EQ(f.m.timeout(HttpTimeout::kHead).value(), 1u);
  EXPECT_EQ(f.m.timeout(HttpTimeout::kIdle).value(), 0u);
}

TEST(HttpServerDeadlines, IdleKeepAliveIsClosedAfterItsDeadline) {
  auto o = Fixture::patient();
  o.idle_timeout = 200ms;
  Fixture f(o);
  RawConnection c(f.port());
  ASSERT_TRUE(c.send(kGetHealth));
  auto res = c.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->header("connection"), "keep-alive");
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(c.dropped(), "");
  EXPECT_EQ(f.m.timeout(HttpTimeout::kIdle).value(), 1u);
  EXPECT_EQ(f.m.timeout(HttpTimeout::kHead).value(), 0u);
}

TEST(HttpServerDeadlines, ResponseNotReadIsCutOffAtTheWriteDeadline) {
  auto o = Fixture::patient();
  o.write_timeout = 300ms;
  Fixture f(o, 256 * 1024);
  RawConnection c(f.port());
  // Never read: 99 pipelined /metrics responses of 256 KiB each fill the
  // socket buffers and the server's write stalls.
  std::string many;
  for (int i = 0; i < 99; ++i) many += "GET /metrics HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(c.send(many));
  EXPECT_TRUE(eventually([&] { return f.m.timeout(HttpTimeout::kWrite).value() == 1u; }));
  auto res = request(f.port(), "GET", "/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(HttpServerCap, OverTheCapTheOldestIdleIsEvictedThenTheNewestRefused) {
  auto o = Fixture::patient();
  o.max_connections = 4;
  Fixture f(o);
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConnection>(f.port()));
    ASSERT_TRUE(held.back()->send(kGetHealth));
    ASSERT_TRUE(held.back()->read_response());  // now idle, kept alive
  }
  // (The server marks a connection idle once its write completes.)
  ASSERT_TRUE(eventually([&] { return f.m.connections_idle.value() == 4; }));
  // A fifth client is served in place of the connection idle longest (#0).
  auto fifth = std::make_unique<RawConnection>(f.port());
  ASSERT_TRUE(fifth->send(kGetHealth));
  auto res = fifth->read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(held[0]->wait_closed());
  EXPECT_EQ(f.m.connections_evicted.value(), 1u);
  // The others were left alone.
  for (int i = 1; i < 4; ++i) {
    ASSERT_TRUE(held[static_cast<std::size_t>(i)]->send(kGetHealth));
    auto again = held[static_cast<std::size_t>(i)]->read_response();
    ASSERT_TRUE(again) << i;
    EXPECT_EQ(again->status, 200);
  }
  // Make all four busy (a request head in progress): nobody can give way,
  // so the next connection is refused at once.
  held[0] = std::move(fifth);
  ASSERT_TRUE(eventually([&] { return f.m.connections_idle.value() == 4; }));
  for (auto& c : held) ASSERT_TRUE(c->send("GET /health HTTP/1.1\r\n"));
  ASSERT_TRUE(eventually([&] { return f.m.connections_idle.value() == 0; }));
  RawConnection refused(f.port());
  EXPECT_TRUE(refused.wait_closed());
  EXPECT_EQ(refused.dropped(), "");
  EXPECT_EQ(f.m.connections_refused.value(), 1u);
  EXPECT_EQ(f.m.connections_evicted.value(), 1u);
  // The busy ones finish their requests normally.
  for (auto& c : held) {
    ASSERT_TRUE(c->send("\r\n"));
    auto done = c->read_response();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, 200);
  }
  // The operator sees the saturation on /metrics.
  ASSERT_TRUE(held[1]->send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto scrape = held[1]->read_response();
  ASSERT_TRUE(scrape);
  EXPECT_NE(scrape->body.find("\nmepassa_http_connections_refused_total 1\n"), std::string::npos)
      << scrape->body;
  EXPECT_NE(scrape->body.find("\nmepassa_http_connections_evicted_total 1\n"), std::string::npos);
}

TEST(HttpServerStop, StopIsPromptWithClientsConnected) {
  // Hour-long deadlines: if stop() waited for clients, this test would hang.
  Fixture f(Fixture::patient());
  std::vector<std::unique_ptr<RawConnection>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<RawConnection>(f.port()));
    if (i % 3 == 1) {  // a request head in progress
      ASSERT_TRUE(clients.back()->send("GET /health HTTP/1.1\r\n"));
    }
    if (i % 3 == 2) {  // kept alive
      ASSERT_TRUE(clients.back()->send(kGetHealth));
      ASSERT_TRUE(clients.back()->read_response());
    }
  }
  ASSERT_TRUE(eventually([&] { return f.m.connections_current.value() == 10; }));
  f.server->stop();
  EXPECT_EQ(f.m.connections_current.value(), 0);
  for (auto& c : clients) EXPECT_TRUE(c->wait_closed());
  EXPECT_FALSE(RawConnection(f.port()).connected());
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
  EXPECT_FALSE(RawConnection(port).connected());  // nobody listens any more
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

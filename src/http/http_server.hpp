// The operator-facing HTTP endpoint on HEALTH_PORT: GET /health (JSON, see
// health.hpp), GET /metrics (Prometheus text) and, unless the dashboard is
// off (HTTP_DASHBOARD=false), the read-only status page: / (HTML),
// /status.css, /status.js (compiled into the binary, assets/) and
// /api/status (JSON, see status.hpp). Any other path is 404, any other
// method on these paths 405. HEAD works like GET without the body.
//
// A stalled /health gets a healthy node restarted by its supervisor, so no
// client, however slow or numerous, may keep it from answering:
// - One thread with its own io_context, apart from the libp2p loop; handlers
//   only render atomics (the metric registry) and a published snapshot (the
//   HealthSource), so one thread serves thousands of requests a second.
// - Every connection is a coroutine with one deadline at a time: the whole
//   request (head and bounded body) from its first byte, however it trickles;
//   the wait for a request on a fresh or kept-alive connection; the write of
//   each response. A request head over max_head_bytes is 431, a body 413,
//   garbage 400, and the connection closes after each.
// - At most max_connections connections. At the cap the connection idle
//   longest is closed for a new one (ConnectionTable); if none is idle, the
//   new one is closed at once. Both are counted (HttpMetrics).
// - Pipelined requests are answered in order, one at a time: the next is
//   not parsed (nor more bytes read) before the previous response is sent.
//
// HTTP is parsed by Debian's http-parser (libhttp-parser), see
// request_parser.hpp. Boost.Beast would have pulled Boost.Asio in beside the
// standalone Asio the rest of the node uses; http-parser is a small C
// library that only frames requests, which is all this endpoint needs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "http/health.hpp"
#include "http/status.hpp"

namespace mp::http {

struct HttpMetrics;
class MetricRegistry;

struct HttpServerOptions {
  // Open connections at most (idle ones give way to new ones, see above).
  std::size_t max_connections = 256;
  // Kernel accept queue: a burst of connects waits there rather than failing.
  int listen_backlog = 1024;
  // From the first byte of a request until it has arrived whole.
  std::chrono::milliseconds request_timeout{5000};
  // Waiting for the first byte of a request, on a fresh connection or
  // between keep-alive requests.
  std::chrono::milliseconds idle_timeout{5000};
  // Sending one response.
  std::chrono::milliseconds write_timeout{5000};
  std::size_t max_head_bytes = 8192;
  std::size_t max_body_bytes = 4096;  // no route takes a body
  // After this many requests a connection is closed ("Connection: close").
  std::size_t keep_alive_max_requests = 100;
  // Reported as "version" in /health.
  std::string version = MP_VERSION;
  // uptime_seconds in /health counts from here.
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  // The status page (/, /status.css, /status.js, /api/status); when false
  // those paths are 404 like any unknown path.
  bool dashboard = true;
  // Called on the HTTP thread for /api/status (published data only). If
  // null, the page shows an empty snapshot.
  StatusSource status;
  // Where the server counts connections, refusals, evictions, requests and
  // timeouts; must outlive the server. If null, the server counts into a
  // registry of its own that nobody renders.
  HttpMetrics* metrics = nullptr;
};

class HttpServer {
 public:
  // `metrics` must outlive the server; `health` is called on the HTTP thread.
  HttpServer(const MetricRegistry& metrics, HealthSource health, HttpServerOptions options = {});
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds synchronously (so a busy port is reported here, naming the
  // address) and then serves on a background thread. Port 0 picks a free
  // port; see port(). Calling start twice is an error.
  Status start(const std::string& bind_address, std::uint16_t port);
  // The bound port once start() succeeded.
  std::uint16_t port() const;
  // Stops accepting, closes every connection (a response being written is
  // cut short) and joins the thread; prompt whatever the clients do.
  // Idempotent; safe to call from any thread except the HTTP thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mp::http

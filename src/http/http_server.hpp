// The operator-facing HTTP endpoint on HEALTH_PORT: GET /health (JSON, see
// health.hpp) and GET /metrics (Prometheus text). Any other path is 404, any
// other method on these paths 405.
//
// Isolation from the libp2p side: the server runs on its own threads (one
// accept thread plus a small fixed worker pool). Handlers only render the
// metric registry (atomics) and call the HealthSource (a published
// snapshot). A flood of HTTP clients therefore costs only these threads:
// accepted connections beyond `max_pending` make the accept thread wait,
// leaving further clients in the kernel backlog, and slow clients are cut
// off by the read/write timeouts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "http/health.hpp"

namespace mp::http {

class Counter;
class MetricRegistry;

struct HttpServerOptions {
  // httplib serves one connection per worker at a time, including while a
  // keep-alive connection sits idle, so idle and keep-alive timeouts are
  // short: a scraper or health checker holding a connection open must not
  // starve the others for long.
  std::size_t worker_threads = 4;
  // Accepted connections waiting for a worker before the accept thread waits.
  std::size_t max_pending = 64;
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
  std::chrono::seconds keep_alive_timeout{2};
  std::size_t keep_alive_max_requests = 100;
  // Reported as "version" in /health.
  std::string version = MP_VERSION;
  // uptime_seconds in /health counts from here.
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  // If set, incremented each time the accept thread had to wait for a worker.
  Counter* saturated = nullptr;
};

class HttpServer {
 public:
  // `metrics` must outlive the server; `health` is called on HTTP threads.
  HttpServer(const MetricRegistry& metrics, HealthSource health, HttpServerOptions options = {});
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds synchronously (so a busy port is reported here, naming the
  // address) and then serves on background threads. Port 0 picks a free
  // port; see port(). Calling start twice is an error.
  Status start(const std::string& bind_address, std::uint16_t port);
  // The bound port once start() succeeded.
  std::uint16_t port() const;
  // Stops accepting, finishes in-flight requests, joins all threads.
  // Idempotent; safe to call from any thread except an HTTP handler.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mp::http

#include "http/http_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "http/metrics.hpp"

namespace mp::http {

namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// httplib's own ThreadPool queues accepted sockets without limit; this one
// makes the accept thread wait when `max_pending` sockets are already queued.
// Only the accept thread calls enqueue() and shutdown(), one after the other.
class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(std::size_t threads, std::size_t max_pending, Counter* saturated)
      : max_pending_(max_pending == 0 ? 1 : max_pending), saturated_(saturated) {
    for (std::size_t i = 0; i < (threads == 0 ? 1 : threads); ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }
  ~BoundedTaskQueue() override {
    if (!workers_.empty()) BoundedTaskQueue::shutdown();
  }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    if (jobs_.size() >= max_pending_) {
      if (saturated_ != nullptr) saturated_->inc();
      not_full_.wait(lock, [&] { return jobs_.size() < max_pending_; });
    }
    jobs_.push_back(std::move(fn));
    lock.unlock();
    not_empty_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutting_down_ = true;
    }
    not_empty_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        not_empty_.wait(lock, [&] { return !jobs_.empty() || shutting_down_; });
        // Queued sockets are still served during shutdown so none leaks.
        if (jobs_.empty()) return;
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      not_full_.notify_one();
      fn();
    }
  }

  const std::size_t max_pending_;
  Counter* const saturated_;
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::function<void()>> jobs_;
  bool shutting_down_ = false;
  std::vector<std::thread> workers_;
};

bool is_known_path(const std::string& path) { return path == "/health" || path == "/metrics"; }

}  // namespace

struct HttpServer::Impl {
  Impl(const MetricRegistry& m, HealthSource h, HttpServerOptions o)
      : metrics(m), health(std::move(h)), options(std::move(o)) {}

  const MetricRegistry& metrics;
  HealthSource health;
  HttpServerOptions options;
  httplib::Server server;
  std::thread listener;
  std::uint16_t port = 0;
  std::atomic<bool> listener_done{false};
  std::mutex mu;  // guards start/stop
  bool started = false;
};

HttpServer::HttpServer(const MetricRegistry& metrics, HealthSource health,
                       HttpServerOptions options)
    : impl_(std::make_unique<Impl>(metrics, std::move(health), std::move(options))) {
  auto& svr = impl_->server;
  Impl* impl = impl_.get();

  svr.new_task_queue = [impl]() -> httplib::TaskQueue* {
    return new BoundedTaskQueue(impl->options.worker_threads, impl->options.max_pending,
                                impl->options.saturated);
  };
  svr.set_read_timeout(impl->options.read_timeout);
  svr.set_write_timeout(impl->options.write_timeout);
  svr.set_keep_alive_timeout(impl->options.keep_alive_timeout.count());
  svr.set_keep_alive_max_count(impl->options.keep_alive_max_requests);
  svr.set_payload_max_length(4096);  // no endpoint takes a body
  // httplib's default also sets SO_REUSEPORT, which would let a second node
  // silently share HEALTH_PORT with this one; a busy port must be an error.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  // Decide 404/405 before method dispatch: httplib alone would answer 404
  // for a POST to /health.
  svr.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!is_known_path(req.path)) {
      res.status = 404;
      res.set_content("not found\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("method not allowed\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  svr.Get("/health", [impl](const httplib::Request&, httplib::Response& res) {
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - impl->options.started_at);
    const HealthSnapshot snap = impl->health ? impl->health() : HealthSnapshot{};
    auto r = render_health(snap, static_cast<std::uint64_t>(uptime.count()),
                           impl->options.version);
    res.status = r.status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::move(r.body), "application/json");
  });

  svr.Get("/metrics", [impl](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(impl->metrics.render(), kMetricsContentType);
  });

  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("internal error\n", "text/plain");
      });
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start(const std::string& bind_address, std::uint16_t port) {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return make_error("HTTP server already started");
  auto& svr = impl_->server;
  int bound = 0;
  if (port == 0) {
    bound = svr.bind_to_any_port(bind_address);
  } else if (svr.bind_to_port(bind_address, port)) {
    bound = port;
  } else {
    bound = -1;
  }
  if (bound <= 0) {
    return make_error("cannot listen for HTTP on " + bind_address + ":" + std::to_string(port) +
                      " (address in use or not local?)");
  }
  impl_->port = static_cast<std::uint16_t>(bound);
  impl_->started = true;
  impl_->listener_done = false;
  impl_->listener = std::thread([impl = impl_.get()] {
    impl->server.listen_after_bind();
    impl->listener_done = true;
  });
  // httplib's stop() is a no-op until the accept loop runs; wait for it so
  // that an early stop() cannot leave the listener running forever.
  while (!svr.is_running() && !impl_->listener_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

std::uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::stop() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->started) return;
  impl_->server.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
  impl_->started = false;
}

}  // namespace mp::http

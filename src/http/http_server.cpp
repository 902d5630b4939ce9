#include "http/http_server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "http/connection_table.hpp"
#include "http/http_metrics.hpp"
#include "http/metrics.hpp"
#include "http/request_parser.hpp"
#include "http/response.hpp"
#include "http/status_page.hpp"

namespace mp::http {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The status page's files, compiled in from src/http/assets/.
struct Asset {
  std::string_view path;
  std::string_view content_type;
  const std::string_view* body;
};
const Asset kAssets[] = {
    {"/", "text/html; charset=utf-8", &assets::kIndexHtml},
    {"/status.css", "text/css; charset=utf-8", &assets::kStatusCss},
    {"/status.js", "text/javascript; charset=utf-8", &assets::kStatusJs},
};
// Read buffer per connection. Requests are a few hundred bytes; a head
// larger than this simply arrives in several reads.
constexpr std::size_t kReadChunk = 4096;
// Before closing after an error response, what the client still sends is
// read and dropped (this much at most, for at most kLingerTime): closing with
// unread bytes would reset the connection and could destroy the response
// before the client reads it.
constexpr std::size_t kLingerBytes = 64 * 1024;
constexpr std::chrono::milliseconds kLingerTime{1000};
// Pause of the accept loop after an accept error (out of file descriptors):
// pending connects wait in the backlog instead of the loop spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

// "/health?x=1" is /health, as it was with cpp-httplib.
std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

HttpOutcome outcome_of(int status) {
  switch (status) {
    case 200:
      return HttpOutcome::kOk;
    case 503:
      return HttpOutcome::kDegraded;
    case 404:
      return HttpOutcome::kNotFound;
    case 405:
      return HttpOutcome::kMethodNotAllowed;
    case 413:
      return HttpOutcome::kBodyTooLarge;
    case 431:
      return HttpOutcome::kHeadTooLarge;
    case 400:
      return HttpOutcome::kBadRequest;
    default:
      return HttpOutcome::kInternalError;
  }
}

Response error_response(RequestParser::Result r) {
  Response resp;
  switch (r) {
    case RequestParser::Result::kHeadTooLarge:
      resp.status = 431;
      resp.body = "request header fields too large\n";
      break;
    case RequestParser::Result::kBodyTooLarge:
      resp.status = 413;
      resp.body = "content too large\n";
      break;
    default:
      resp.status = 400;
      resp.body = "bad request\n";
      break;
  }
  return resp;
}

}  // namespace

struct HttpServer::Impl {
  class Session;

  Impl(const MetricRegistry& r, HealthSource h, HttpServerOptions o)
      : registry(r),
        health(std::move(h)),
        options(std::move(o)),
        own_metrics(options.metrics ? nullptr : std::make_unique<HttpMetrics>(own_registry)),
        m(options.metrics ? *options.metrics : *own_metrics),
        table(options.max_connections) {}

  Response route(const Request& req);
  void admit(tcp::socket socket);
  void forget(ConnectionTable::Id id);
  void count_idle() { m.connections_idle.set(static_cast<std::int64_t>(table.idle_count())); }
  void shutdown();
  void run_loop();
  static asio::awaitable<void> accept_loop(Impl* impl);

  const MetricRegistry& registry;
  HealthSource health;
  HttpServerOptions options;
  MetricRegistry own_registry;
  std::unique_ptr<HttpMetrics> own_metrics;
  HttpMetrics& m;

  // Everything below the mutex is used on the HTTP thread only (start() and
  // stop() touch it while that thread is not running).
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_backoff{io};
  ConnectionTable table;
  std::unordered_map<ConnectionTable::Id, std::shared_ptr<Session>> sessions;
  ConnectionTable::Id next_id = 1;
  bool stopping = false;
  std::thread thread;

  std::mutex mu;  // guards start/stop
  bool started = false;
  std::uint16_t port = 0;
};

// One HTTP connection: a coroutine reading requests and writing responses
// (run), and a watchdog closing the socket when the current deadline passes.
// There is always exactly one deadline, set by the phase the connection is in.
class HttpServer::Impl::Session {
 public:
  enum class Phase { kIdle, kRequest, kWrite, kLinger };

  Session(Impl& impl, ConnectionTable::Id id, tcp::socket socket)
      : impl_(impl),
        id_(id),
        socket_(std::move(socket)),
        timer_(impl.io),
        parser_(RequestParser::Limits{impl.options.max_head_bytes, impl.options.max_body_bytes}) {
    deadline_ = Clock::now() + impl_.options.idle_timeout;
    impl_.m.connections_current.add();
  }
  ~Session() { impl_.m.connections_current.sub(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  static asio::awaitable<void> run(std::shared_ptr<Session> s) {
    try {
      co_await s->serve();
    } catch (const std::exception& e) {
      spdlog::debug("HTTP connection ended: {}", e.what());
    }
    s->close();
    s->impl_.forget(s->id_);
  }

  static asio::awaitable<void> watchdog(std::shared_ptr<Session> s) {
    while (!s->closed_) {
      if (s->deadline_ <= Clock::now()) {
        s->expire();
        co_return;
      }
      s->timer_.expires_at(s->deadline_);
      std::error_code ec;
      co_await s->timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // Closing cancels whatever the connection waits for; both coroutines then end.
  void close() {
    if (closed_) return;
    closed_ = true;
    std::error_code ec;
    socket_.close(ec);
    timer_.cancel();
  }

 private:
  asio::awaitable<void> serve() {
    const auto& o = impl_.options;
    for (;;) {
      // Answer the complete requests already buffered, in order.
      while (begin_ < end_) {
        const auto step = parser_.feed(std::string_view(buf_.data() + begin_, end_ - begin_));
        begin_ += step.consumed;
        if (step.result == RequestParser::Result::kNeedMore) break;
        if (step.result != RequestParser::Result::kRequest) {
          co_await refuse(step.result);
          co_return;
        }
        const Request& req = parser_.request();
        ++served_;
        const bool keep_alive =
            req.keep_alive && served_ < o.keep_alive_max_requests && !impl_.stopping;
        const Response resp = impl_.route(req);
        if (!co_await write(serialize(resp, keep_alive, req.method == "HEAD"))) co_return;
        if (!keep_alive) {
          co_await linger();
          co_return;
        }
        // The next request is already (partly) here: its deadline starts now.
        if (begin_ < end_) set_deadline(Phase::kRequest, o.request_timeout);
      }
      begin_ = end_ = 0;
      if (!parser_.in_request() && phase_ != Phase::kIdle) {
        set_deadline(Phase::kIdle, o.idle_timeout);
        impl_.table.set_idle(id_, Clock::now());
        impl_.count_idle();
      }
      std::error_code ec;
      const std::size_t n = co_await socket_.async_read_some(
          asio::buffer(buf_), asio::redirect_error(asio::use_awaitable, ec));
      if (ec || closed_) co_return;
      if (phase_ == Phase::kIdle) {
        // The first byte of a request: from now on it has request_timeout to
        // arrive whole, however slowly the rest trickles in.
        impl_.table.set_busy(id_);
        impl_.count_idle();
        set_deadline(Phase::kRequest, o.request_timeout);
      }
      end_ = n;
    }
  }

  asio::awaitable<bool> write(std::string wire) {
    set_deadline(Phase::kWrite, impl_.options.write_timeout);
    std::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(wire),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && !closed_;
  }

  // 400, 431 or 413, then close.
  asio::awaitable<void> refuse(RequestParser::Result r) {
    const Response resp = error_response(r);
    impl_.m.request(outcome_of(resp.status)).inc();
    if (co_await write(serialize(resp, false, false))) co_await linger();
  }

  // Half-closes and drops what the client still sends, bounded in bytes and
  // time, so that it reads the last response before the connection goes.
  asio::awaitable<void> linger() {
    std::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    set_deadline(Phase::kLinger,
                 std::min<Clock::duration>(impl_.options.write_timeout, kLingerTime));
    std::size_t drained = 0;
    while (!ec && !closed_ && drained < kLingerBytes) {
      drained += co_await socket_.async_read_some(asio::buffer(buf_),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  void set_deadline(Phase phase, Clock::duration after) {
    phase_ = phase;
    deadline_ = Clock::now() + after;
    // The watchdog sleeps until the previous deadline; wake it if this one
    // comes first (it re-arms for the new deadline).
    if (deadline_ < timer_.expiry()) timer_.cancel();
  }

  void expire() {
    switch (phase_) {
      case Phase::kIdle:
        impl_.m.timeout(HttpTimeout::kIdle).inc();
        break;
      case Phase::kRequest:
        impl_.m.timeout(HttpTimeout::kHead).inc();
        break;
      case Phase::kWrite:
        impl_.m.timeout(HttpTimeout::kWrite).inc();
        break;
      case Phase::kLinger:
        break;
    }
    close();
  }

  Impl& impl_;
  const ConnectionTable::Id id_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  RequestParser parser_;
  Clock::time_point deadline_;
  Phase phase_ = Phase::kIdle;
  bool closed_ = false;
  std::size_t served_ = 0;
  std::array<char, kReadChunk> buf_;
  std::size_t begin_ = 0, end_ = 0;  // unparsed bytes in buf_
};

Response HttpServer::Impl::route(const Request& req) {
  Response r;
  const std::string_view path = path_of(req.target);
  const Asset* asset = nullptr;
  if (options.dashboard) {
    for (const auto& a : kAssets) {
      if (a.path == path) asset = &a;
    }
  }
  const bool known = path == "/health" || path == "/metrics" || asset ||
                     (options.dashboard && path == "/api/status");
  if (!known) {
    r.status = 404;
    r.body = "not found\n";
  } else if (req.method != "GET" && req.method != "HEAD") {
    r.status = 405;
    r.allow_get_head = true;
    r.body = "method not allowed\n";
  } else {
    try {
      r.no_store = true;
      const auto uptime = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                           options.started_at)
              .count());
      if (path == "/health") {
        const HealthSnapshot snap = health ? health() : HealthSnapshot{};
        auto h = render_health(snap, uptime, options.version);
        r.status = h.status;
        r.content_type = "application/json";
        r.body = std::move(h.body);
      } else if (path == "/metrics") {
        r.content_type = kMetricsContentType;
        r.body = registry.render();
      } else if (asset) {
        r.content_type = asset->content_type;
        r.body = std::string(*asset->body);
      } else {
        // /api/status: 200 even when DEGRADED (the page shows why).
        const auto snap = options.status ? options.status() : nullptr;
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        r.content_type = "application/json";
        r.body = render_status(snap ? *snap : StatusSnapshot{}, now_ms, uptime, options.version);
      }
    } catch (const std::exception& e) {
      spdlog::warn("HTTP {} failed: {}", path, e.what());
      r = Response{};
      r.status = 500;
      r.body = "internal error\n";
    }
  }
  m.request(outcome_of(r.status)).inc();
  return r;
}

void HttpServer::Impl::admit(tcp::socket socket) {
  const ConnectionTable::Id id = next_id++;
  const auto a = table.admit(id, Clock::now());
  if (a.kind == ConnectionTable::Admission::Kind::kRefused) {
    m.connections_refused.inc();
    // Reset rather than close: refusing leaves no TIME_WAIT state behind.
    std::error_code ec;
    socket.set_option(asio::socket_base::linger(true, 0), ec);
    socket.close(ec);
    return;
  }
  if (a.kind == ConnectionTable::Admission::Kind::kEvicted) {
    m.connections_evicted.inc();
    if (auto it = sessions.find(a.evicted); it != sessions.end()) {
      it->second->close();
      sessions.erase(it);
    }
  }
  m.connections_accepted.inc();
  count_idle();
  std::error_code ec;
  // Pipelined responses go out as soon as each is ready.
  socket.set_option(tcp::no_delay(true), ec);
  auto s = std::make_shared<Session>(*this, id, std::move(socket));
  sessions.emplace(id, s);
  asio::co_spawn(io, Session::run(s), asio::detached);
  asio::co_spawn(io, Session::watchdog(std::move(s)), asio::detached);
}

void HttpServer::Impl::forget(ConnectionTable::Id id) {
  table.remove(id);
  sessions.erase(id);
  count_idle();
}

void HttpServer::Impl::shutdown() {
  stopping = true;
  std::error_code ec;
  acceptor.close(ec);
  accept_backoff.cancel();
  for (auto& [id, s] : sessions) {
    s->close();
    table.remove(id);
  }
  sessions.clear();
  count_idle();
}

void HttpServer::Impl::run_loop() {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("HTTP server: {}", e.what());
    }
  }
}

asio::awaitable<void> HttpServer::Impl::accept_loop(Impl* impl) {
  while (!impl->stopping) {
    std::error_code ec;
    tcp::socket socket =
        co_await impl->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (impl->stopping) co_return;
    if (ec) {
      spdlog::debug("HTTP accept: {}", ec.message());
      impl->accept_backoff.expires_after(kAcceptBackoff);
      co_await impl->accept_backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    impl->admit(std::move(socket));
  }
}

HttpServer::HttpServer(const MetricRegistry& metrics, HealthSource health,
                       HttpServerOptions options)
    : impl_(std::make_unique<Impl>(metrics, std::move(health), std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::start(const std::string& bind_address, std::uint16_t port) {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return make_error("HTTP server already started");
  const std::string where = bind_address + ":" + std::to_string(port);
  std::error_code ec;
  const auto address = asio::ip::make_address(bind_address, ec);
  if (ec) return make_error("cannot listen for HTTP on " + where + ": not an IP address");
  auto& acceptor = impl_->acceptor;
  const tcp::endpoint endpoint(address, port);
  // SO_REUSEADDR only (as Asio's default): no SO_REUSEPORT, so a second node
  // on the same HEALTH_PORT is an error, not a silent share.
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(impl_->options.listen_backlog, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
    return make_error("cannot listen for HTTP on " + where + ": " + ec.message());
  }
  impl_->port = acceptor.local_endpoint(ec).port();
  impl_->stopping = false;
  impl_->io.restart();
  asio::co_spawn(impl_->io, Impl::accept_loop(impl_.get()), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run_loop(); });
  impl_->started = true;
  return Status::Ok();
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

void HttpServer::stop() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->started) return;
  asio::post(impl_->io, [impl = impl_.get()] { impl->shutdown(); });
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->started = false;
}

}  // namespace mp::http

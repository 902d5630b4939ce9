#include "ping/service.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "multistream/error.hpp"
#include "net/deadline.hpp"
#include "ping/ping.hpp"

namespace mp::ping {
namespace {

asio::awaitable<void> serve_stream(host::StreamContext ctx) {
  co_await serve(*ctx.stream);
}

}  // namespace

Service::Service(host::Host& host) : host_(host) {
  // A plain lambda returning a coroutine: GCC 12 miscompiles coroutine
  // lambdas that take parameters by value.
  host_.set_handler(std::string(kProtocol),
                    [](host::StreamContext ctx) { return serve_stream(std::move(ctx)); });
  host_.events().subscribe([this, alive = alive_](const host::Event& e) {
    if (*alive) on_event(e);
  });
}

Service::~Service() {
  *alive_ = false;
  host_.remove_handler(std::string(kProtocol));
  for (auto& [id, timer] : timers_) timer->cancel();
}

void Service::on_event(const host::Event& e) {
  if (const auto* est = std::get_if<host::ConnectionEstablished>(&e)) {
    auto conn = host_.connection(est->connection_id);
    if (!conn) return;
    auto timer = std::make_shared<asio::steady_timer>(host_.executor());
    timers_[est->connection_id] = timer;
    asio::co_spawn(host_.executor(), run(conn, std::move(timer)), asio::detached);
  } else if (const auto* closed = std::get_if<host::ConnectionClosed>(&e)) {
    if (auto it = timers_.find(closed->connection_id); it != timers_.end()) {
      it->second->cancel();
      timers_.erase(it);
    }
  }
}

asio::awaitable<void> Service::run(std::weak_ptr<host::Connection> weak,
                                   std::shared_ptr<asio::steady_timer> timer) {
  auto alive = alive_;
  const auto& cfg = host_.config();
  int failures = 0;
  for (;;) {
    timer->expires_after(cfg.ping_interval);
    std::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    auto conn = weak.lock();
    if (ec || !*alive || !conn || !conn->is_open()) co_return;
    try {
      std::vector<std::string> proposals{std::string(kProtocol)};
      auto s = co_await conn->open_stream(std::move(proposals));
      net::Deadline deadline(host_.executor(), cfg.ping_timeout, s.stream);
      const auto rtt = co_await ping_once(*s.stream);
      co_await s.stream->close_write();
      if (!*alive) co_return;
      host_.stats().pings_sent.fetch_add(1, std::memory_order_relaxed);
      failures = 0;
      host_.events().publish(host::PingRtt{conn->remote_peer(), rtt});
    } catch (const std::exception& e) {
      if (!*alive || !conn->is_open()) co_return;
      host_.stats().pings_failed.fetch_add(1, std::memory_order_relaxed);
      // A peer that does not speak ping is fine; one that stops answering is not.
      const auto* se = dynamic_cast<const std::system_error*>(&e);
      if (se && se->code() == multistream::Errc::not_supported) co_return;
      if (++failures >= 3) {
        conn->close("ping failed 3 times: " + std::string(e.what()));
        co_return;
      }
    }
  }
}

}  // namespace mp::ping

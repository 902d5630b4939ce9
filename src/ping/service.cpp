#include "ping/service.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
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

Service::Service(host::Host& host)
    : host_(host), schedule_(host.config().ping_interval), timer_(host.executor()) {
  // A plain lambda returning a coroutine: GCC 12 miscompiles coroutine
  // lambdas that take parameters by value.
  // Stateless: answered on the connection's own thread.
  host_.set_handler(std::string(kProtocol),
                    [](host::StreamContext ctx) { return serve_stream(std::move(ctx)); },
                    host::HandlerThread::kConnection);
  host_.events().subscribe([this, alive = alive_](const host::Event& e) {
    if (*alive) on_event(e);
  });
}

Service::~Service() {
  *alive_ = false;
  host_.remove_handler(std::string(kProtocol));
  timer_.cancel();
}

void Service::on_event(const host::Event& e) {
  if (const auto* est = std::get_if<host::ConnectionEstablished>(&e)) {
    if (!host_.connection(est->connection_id)) return;
    schedule_.add(est->connection_id, Schedule::Clock::now());
    arm();
  } else if (const auto* closed = std::get_if<host::ConnectionClosed>(&e)) {
    // The timer stays set: firing early for nobody costs one wake-up.
    schedule_.remove(closed->connection_id);
  }
}

void Service::arm() {
  const auto next = schedule_.next_due();
  if (!next || (armed_ && *armed_ <= *next)) return;
  armed_ = *next;
  timer_.expires_at(*next);  // a wait already pending completes as aborted
  timer_.async_wait([this, alive = alive_](std::error_code ec) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    on_timer();
  });
}

void Service::on_timer() {
  armed_.reset();
  for (const auto id : schedule_.take_due(Schedule::Clock::now())) {
    asio::co_spawn(host_.executor(), ping(id), asio::detached);
  }
  arm();
}

asio::awaitable<void> Service::ping(std::uint64_t id) {
  auto alive = alive_;
  auto conn = host_.connection(id);
  if (!conn || !conn->is_open()) {
    schedule_.remove(id);
    co_return;
  }
  const auto& cfg = host_.config();
  auto result = Schedule::Result::ok;
  std::string error;
  try {
    std::vector<std::string> proposals{std::string(kProtocol)};
    auto s = co_await conn->open_stream(std::move(proposals));
    net::Deadline deadline(host_.executor(), cfg.ping_timeout, s.stream);
    const auto rtt = co_await ping_once(*s.stream);
    co_await s.stream->close_write();
    if (!*alive) co_return;
    host_.stats().pings_sent.fetch_add(1, std::memory_order_relaxed);
    host_.events().publish(host::PingRtt{conn->remote_peer(), rtt});
  } catch (const std::exception& e) {
    if (!*alive) co_return;
    if (!conn->is_open()) {
      schedule_.remove(id);
      co_return;
    }
    host_.stats().pings_failed.fetch_add(1, std::memory_order_relaxed);
    // A peer that does not speak ping is fine; one that stops answering is not.
    const auto* se = dynamic_cast<const std::system_error*>(&e);
    result = se && se->code() == multistream::Errc::not_supported ? Schedule::Result::not_supported
                                                                  : Schedule::Result::failed;
    error = e.what();
  }
  if (!*alive) co_return;
  switch (schedule_.finish(id, result, Schedule::Clock::now())) {
    case Schedule::Next::wait:
      arm();
      break;
    case Schedule::Next::close:
      conn->close("ping failed 3 times: " + error);
      break;
    case Schedule::Next::stop:
      break;
  }
}

}  // namespace mp::ping

// Notifier: "something changed, look again" for coroutines on one
// io_context thread. A timer set to expire never; notify() cancels it, which
// wakes every waiter. Waiters re-check their condition in a loop (like a
// condition variable), so a notify with nobody waiting is harmless.
// The owner must outlive its waiters.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace mp::yamux {

class Notifier {
 public:
  explicit Notifier(const asio::any_io_executor& ex)
      : timer_(ex, asio::steady_timer::time_point::max()) {}

  asio::awaitable<void> wait() {
    std::error_code ec;  // operation_aborted is the notification
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  void notify() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

}  // namespace mp::yamux

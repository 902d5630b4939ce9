// Notifier: "something changed, look again" for coroutines on one
// io_context thread. wait() parks on a timer set to expire never; notify()
// cancels it, which wakes every waiter. Waiters re-check their condition in
// a loop (like a condition variable), so a notify with nobody waiting is
// harmless. The timer is made on the first wait (on the waiter's executor)
// and kept: a notifier nobody ever waited on is one null pointer, so the
// ones an idle session never uses (queue space, the ack backlog) cost 8
// bytes, not a timer each.
// The owner must outlive its waiters.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

namespace mp::yamux {

class Notifier {
 public:
  Notifier() = default;

  asio::awaitable<void> wait() {
    if (!timer_) {
      timer_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor,
                                                    asio::steady_timer::time_point::max());
    }
    std::error_code ec;  // operation_aborted is the notification
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  void notify() {
    if (timer_) timer_->cancel();
  }

 private:
  std::unique_ptr<asio::steady_timer> timer_;
};

}  // namespace mp::yamux

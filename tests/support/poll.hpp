// Polls a condition on the current io_context (10 ms steps, at most `tries`)
// until it holds. Tests assert on the state afterwards, never on the time it
// took.
#pragma once

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <functional>

namespace mp::test {

inline asio::awaitable<void> until(std::function<bool()> done, int tries = 1000) {
  for (int i = 0; i < tries && !done(); ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
    co_await t.async_wait(asio::use_awaitable);
  }
}

// The same with a time limit, saying whether the condition came to hold.
inline asio::awaitable<bool> eventually(std::function<bool()> cond,
                                        std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  for (auto waited = std::chrono::milliseconds(0); waited < limit; waited += std::chrono::milliseconds(10)) {
    if (cond()) co_return true;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
    co_await t.async_wait(asio::use_awaitable);
  }
  co_return cond();
}

}  // namespace mp::test

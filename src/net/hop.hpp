// Hops between io_contexts (NETWORK_THREADS; ARCHITECTURE.md "Threads").
//
// With several network threads a connection lives on one io_context and the
// state every connection shares (the registry, Kademlia, the relay's tables)
// has one owner, the host's executor. Code on a connection's thread reaches
// the owner's state only through run_on (or a plain asio::post when it needs
// no answer), never by touching it directly:
//
//   // on a connection's thread:
//   const bool admitted = co_await net::run_on(host_executor, [&] {
//     return registry.limits().admit_peer(peer);   // runs on the owner
//   });
//   // resumed on the connection's thread
//
// run_on runs `f` on `ex` and hands its result (or exception) back to the
// calling coroutine, which resumes on its own executor. When the caller
// already runs on `ex`'s thread, `f` runs inline: with NETWORK_THREADS=1
// nothing hops. `f` may read the caller's frame (it is suspended until `f`
// returns) but must not keep references to it.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace mp::net {

// The io_context behind `ex`, or null for an executor that is not an
// io_context's.
inline asio::io_context* io_context_of(const asio::any_io_executor& ex) {
  if (auto* e = ex.target<asio::io_context::executor_type>()) return &e->context();
  using Tracked = asio::io_context::basic_executor_type<std::allocator<void>, 4>;
  if (auto* e = ex.target<Tracked>()) return &e->context();
  return nullptr;
}

// True when the calling thread is running `ex`'s io_context (false for an
// executor that is not an io_context's).
inline bool runs_here(const asio::any_io_executor& ex) {
  if (auto* e = ex.target<asio::io_context::executor_type>()) return e->running_in_this_thread();
  using Tracked = asio::io_context::basic_executor_type<std::allocator<void>, 4>;
  if (auto* e = ex.target<Tracked>()) return e->running_in_this_thread();
  return false;
}

// `f` is taken by reference (GCC 12 may destroy a coroutine's by-value
// parameter of class type twice): await run_on in the full expression that
// makes the callable, as above; it is moved to `ex` when it hops.
template <class F>
asio::awaitable<std::invoke_result_t<F&>> run_on(const asio::any_io_executor& ex, F&& f) {
  using R = std::invoke_result_t<F&>;
  if (runs_here(ex)) {
    if constexpr (std::is_void_v<R>) {
      f();
      co_return;
    } else {
      co_return f();
    }
  }
  // Named, not a temporary of the co_await expression: GCC 12 may destroy
  // such a temporary twice.
  if constexpr (std::is_void_v<R>) {
    auto step = [g = std::forward<F>(f)]() mutable -> asio::awaitable<void> {
      g();
      co_return;
    };
    co_await asio::co_spawn(ex, std::move(step), asio::use_awaitable);
  } else {
    auto step = [g = std::forward<F>(f)]() mutable -> asio::awaitable<R> { co_return g(); };
    co_return co_await asio::co_spawn(ex, std::move(step), asio::use_awaitable);
  }
}

// Runs the coroutine `make()` returns on `ex` to its end and hands its
// result (or exception) back to the caller, which resumes on its own
// executor; inline when the caller already runs on `ex`'s thread.
//
// Unlike run_on, the coroutine on `ex` does not own the caller: it is
// spawned detached and posts its outcome back, while the caller waits on a
// timer of its own executor. A long operation on another thread (a dial)
// then never holds the caller's frame in that thread's queue: when the
// network threads are stopped and their contexts go last (shutdown), no
// frame of the caller's io_context is destroyed after it. The outcome is
// dropped if the caller is gone by then (its io_context destroyed with it
// waiting); if the caller's wait is cancelled, it throws operation_aborted
// and the outcome, when it comes, is released on the caller's thread.
// `make` is taken by reference and moved to `ex` (see run_on).
template <class F>
auto complete_on(const asio::any_io_executor& ex, F&& make)
    -> asio::awaitable<typename std::invoke_result_t<F&>::value_type> {
  using T = typename std::invoke_result_t<F&>::value_type;
  static_assert(!std::is_void_v<T>, "complete_on: the coroutine returns a value");
  if (runs_here(ex)) co_return co_await make();
  struct State {
    std::optional<T> value;    // the outcome, once it came:
    std::exception_ptr error;  // one or the other
    asio::steady_timer* waiter = nullptr;  // the caller's, while it waits
  };
  const asio::any_io_executor home = co_await asio::this_coro::executor;
  auto state = std::make_shared<State>();
  asio::steady_timer timer(home, asio::steady_timer::time_point::max());
  state->waiter = &timer;
  struct Leave {
    State* s;
    ~Leave() { s->waiter = nullptr; }
  } leave{state.get()};
  auto task = [state, home, g = std::forward<F>(make)]() mutable -> asio::awaitable<void> {
    std::optional<T> value;
    std::exception_ptr error;
    try {
      value.emplace(co_await g());
    } catch (...) {
      error = std::current_exception();
    }
    asio::post(home, [state, value = std::move(value), error]() mutable {
      if (!state->waiter) return;  // the caller stopped waiting: released here
      state->value = std::move(value);
      state->error = error;
      state->waiter->cancel();
    });
  };
  asio::co_spawn(ex, std::move(task), asio::detached);
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!state->value && !state->error) throw std::system_error(asio::error::operation_aborted);
  if (state->error) std::rethrow_exception(state->error);
  T out = std::move(*state->value);
  state->value.reset();  // nothing of it is released where the task ends
  co_return out;
}

}  // namespace mp::net

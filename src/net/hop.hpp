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
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
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

}  // namespace mp::net

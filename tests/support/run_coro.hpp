// Runs a coroutine to completion on a fresh io_context and returns its value
// (or rethrows its exception). For unit tests of coroutine code.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace mp::test {

template <typename T>
T run_coro(asio::awaitable<T> aw, std::chrono::seconds limit = std::chrono::seconds(20)) {
  asio::io_context io;
  std::optional<T> value;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
    done = true;
    if (e) error = e;
    else value.emplace(std::move(v));
  });
  io.run_for(limit);
  if (!done) throw std::runtime_error("coroutine did not finish in time");
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

inline void run_coro(asio::awaitable<void> aw, std::chrono::seconds limit = std::chrono::seconds(20)) {
  asio::io_context io;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e) {
    done = true;
    error = e;
  });
  io.run_for(limit);
  if (!done) throw std::runtime_error("coroutine did not finish in time");
  if (error) std::rethrow_exception(error);
}

// Runs `aw` on an existing io_context (where other objects of the test live,
// e.g. hosts with their own coroutines), stops the context when it finishes,
// and rethrows its exception. Throws if it did not finish within `limit`.
inline void run_in(asio::io_context& io, asio::awaitable<void> aw,
                   std::chrono::seconds limit = std::chrono::seconds(20)) {
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e) {
    done = true;
    error = e;
    io.stop();
  });
  io.run_for(limit);
  if (!done) throw std::runtime_error("coroutine did not finish in time");
  if (error) std::rethrow_exception(error);
}

}  // namespace mp::test

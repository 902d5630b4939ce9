// Runs coroutines fed by fuzz input on a fresh io_context for a bounded
// number of handler steps (poll, never wait: a timer that is not yet due
// simply stops the run), and sorts their exceptions: the ones the code
// documents for bad peer bytes (net::ProtocolError, std::system_error) are
// expected; anything else thrown at a peer's bytes is a finding.
#pragma once
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <system_error>

#include "net/byte_stream.hpp"

namespace mp::fuzz {

// Aborts (a libFuzzer finding) unless `e` is an expected refusal.
inline void check_exception(const std::exception_ptr& e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const net::ProtocolError&) {
  } catch (const std::system_error&) {
  } catch (const std::exception& other) {
    std::fprintf(stderr, "unexpected exception from peer bytes: %s\n", other.what());
    std::abort();
  }
}

// Polls `io` until nothing is ready or `max_steps` handlers ran.
// Returns the number of handlers run.
inline std::size_t poll_bounded(asio::io_context& io, std::size_t max_steps) {
  std::size_t steps = 0;
  while (steps < max_steps && io.poll_one() > 0) ++steps;
  return steps;
}

// Spawns `aw` on `io`; its exception (if any) is checked when it finishes.
// Sets *done when it finished.
inline void spawn_checked(asio::io_context& io, asio::awaitable<void> aw, bool* done) {
  asio::co_spawn(io, std::move(aw), [done](std::exception_ptr e) {
    *done = true;
    check_exception(e);
  });
}

}  // namespace mp::fuzz

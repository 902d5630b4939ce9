// Helpers for yamux session tests: run a coroutine test body to completion,
// wait for several coroutines, and speak raw frames as a hand-written peer.
#pragma once

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <optional>

#include "net/buffered_reader.hpp"
#include "net/byte_stream.hpp"
#include "yamux/frame.hpp"

namespace mp::yamux::test {

// Runs `body` on `io` until the io_context runs out of work, which proves
// every coroutine (including the sessions') finished. The time bound only
// turns a hang into a failure; nothing asserts on timing.
template <typename F>
void run_to_completion(asio::io_context& io, F&& body) {
  std::exception_ptr error;
  bool finished = false;
  asio::co_spawn(io, std::forward<F>(body), [&](std::exception_ptr e) {
    error = e;
    finished = true;
  });
  io.run_for(std::chrono::seconds(60));
  EXPECT_TRUE(finished) << "test body did not finish";
  EXPECT_TRUE(io.stopped()) << "coroutines still pending after the test body";
  if (error) std::rethrow_exception(error);
}

// Counts outstanding coroutines; wait() returns when all called done().
class WaitGroup {
 public:
  explicit WaitGroup(const asio::any_io_executor& ex)
      : timer_(ex, asio::steady_timer::time_point::max()) {}
  void add(int n = 1) { count_ += n; }
  void done() {
    if (--count_ == 0) timer_.cancel();
  }
  asio::awaitable<void> wait() {
    while (count_ > 0) {
      std::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

 private:
  int count_ = 0;
  asio::steady_timer timer_;
};

struct RawFrame {
  FrameHeader header;
  Bytes payload;
};

asio::awaitable<void> write_frame(net::ByteStream& s, FrameHeader h, BytesView payload = {});
// Next frame from a raw peer's view, or nullopt on EOF / reset.
asio::awaitable<std::optional<RawFrame>> read_frame(net::BufferedReader& r);
// Reads frames until one of `type` arrives (nullopt on EOF).
asio::awaitable<std::optional<RawFrame>> read_until(net::BufferedReader& r, FrameType type);
// Deterministic test bytes.
Bytes pattern(std::size_t seed, std::size_t size);
// Reads until EOF.
asio::awaitable<Bytes> read_all(net::ByteStream& s);

}  // namespace mp::yamux::test

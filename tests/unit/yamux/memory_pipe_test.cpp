// The in-memory ByteStream pair used by the session tests.
#include "net/memory_pipe.hpp"

#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <asio/error.hpp>

#include "test_util.hpp"

namespace mp::net {
namespace {

using yamux::test::run_to_completion;

TEST(MemoryPipe, CarriesBytesBothWaysWithBackpressureAndEof) {
  asio::io_context io;
  auto [a, b] = make_memory_pipe(io.get_executor(), /*capacity=*/10);
  run_to_completion(io, [&, &a = a, &b = b]() -> asio::awaitable<void> {
    const Bytes data = yamux::test::pattern(1, 1000);
    bool written = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      co_await a->write(data);  // far above capacity: waits for the reader
      written = true;
      co_await a->close_write();
    }, asio::detached);
    EXPECT_EQ(co_await yamux::test::read_all(*b), data);
    EXPECT_TRUE(written);
    co_await b->write(as_bytes("back"));
    std::uint8_t buf[8];
    EXPECT_EQ(co_await a->read_some(buf), 4u);
    EXPECT_EQ(a->bytes_written(), 1000u);
  });
}

TEST(MemoryPipe, ResetFailsBothEnds) {
  asio::io_context io;
  auto [a, b] = make_memory_pipe(io.get_executor());
  run_to_completion(io, [&, &a = a, &b = b]() -> asio::awaitable<void> {
    b->reset();
    std::uint8_t buf[8];
    try {
      co_await a->read_some(buf);
      ADD_FAILURE();
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), asio::error::connection_reset);
    }
    try {
      co_await b->write(as_bytes("x"));
      ADD_FAILURE();
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), asio::error::operation_aborted);
    }
  });
}

asio::awaitable<void> read_expecting_error(ByteStream& s, std::error_code* error) {
  std::uint8_t buf[8];
  try {
    co_await s.read_some(buf);
  } catch (const std::system_error& e) {
    *error = e.code();
  }
}

asio::awaitable<void> write_expecting_error(ByteStream& s, std::error_code* error) {
  try {
    co_await s.write(as_bytes("more than the capacity"));
  } catch (const std::system_error& e) {
    *error = e.code();
  }
}

// Found by the yamux_session fuzz target: an end destroyed while its own read
// or write waits made the waiting coroutine read the destroyed object
// (heap-use-after-free under ASan). They must fail with operation_aborted.
TEST(MemoryPipe, DestroyingAnEndFailsItsPendingOperations) {
  asio::io_context io;
  auto [a, b] = make_memory_pipe(io.get_executor(), /*capacity=*/4);
  std::error_code read_error, write_error;
  asio::co_spawn(io, read_expecting_error(*a, &read_error), asio::detached);
  asio::co_spawn(io, write_expecting_error(*a, &write_error), asio::detached);
  io.poll();  // both wait: nothing to read, no room to write
  EXPECT_FALSE(read_error);
  a.reset();
  io.run();
  EXPECT_EQ(read_error, asio::error::operation_aborted);
  EXPECT_EQ(write_error, asio::error::operation_aborted);
}

}  // namespace
}  // namespace mp::net

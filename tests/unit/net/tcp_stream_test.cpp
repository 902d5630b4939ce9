// net::TcpStream::on_readable: the callback form of wait_readable that a
// Yamux session parks an idle connection with. It completes once bytes (or
// the end) are there, leaving them to read, and with an error when the
// stream is reset while it waits. Reads and writes are tried synchronously
// first: bytes must arrive whole and in order whichever way each went, and a
// readiness edge taken while no wait was pending must not be lost.
#include "net/tcp_stream.hpp"

#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <asio/read.hpp>
#include <optional>
#include <thread>
#include <vector>

namespace mp::net {
namespace {

struct Pair {
  asio::ip::tcp::socket remote;
  TcpStream local;
};

Pair connected(asio::io_context& io) {
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket remote(io);
  remote.connect(acceptor.local_endpoint());
  return Pair{std::move(remote), TcpStream(acceptor.accept())};
}

TEST(TcpStream, OnReadableCompletesWhenBytesArriveAndLeavesThemToRead) {
  asio::io_context io;
  Pair p = connected(io);
  auto& remote = p.remote;
  auto& local = p.local;
  std::optional<std::exception_ptr> woke;
  local.on_readable(io.get_executor(), [&](std::exception_ptr e) { woke = e; });
  io.poll();
  EXPECT_FALSE(woke) << "completed with nothing to read";

  asio::write(remote, asio::buffer("hello", 5));
  io.run_for(std::chrono::seconds(10));
  io.restart();
  ASSERT_TRUE(woke);
  EXPECT_EQ(*woke, nullptr);

  std::array<std::uint8_t, 16> buf{};
  std::size_t n = 0;
  asio::co_spawn(io, local.read_some(buf), [&](std::exception_ptr e, std::size_t got) {
    ASSERT_FALSE(e);
    n = got;
  });
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(n, 5u);
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + 5), "hello");
}

TEST(TcpStream, OnReadableFailsWhenTheStreamIsResetWhileWaiting) {
  asio::io_context io;
  Pair p = connected(io);
  auto& local = p.local;
  std::optional<std::exception_ptr> woke;
  local.on_readable(io.get_executor(), [&](std::exception_ptr e) { woke = e; });
  io.poll();
  ASSERT_FALSE(woke);
  local.reset();
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(woke);
  ASSERT_NE(*woke, nullptr);
  try {
    std::rethrow_exception(*woke);
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted);
  }
}

TEST(TcpStream, OnReadableSeesTheEnd) {
  asio::io_context io;
  Pair p = connected(io);
  auto& remote = p.remote;
  auto& local = p.local;
  std::optional<std::exception_ptr> woke;
  local.on_readable(io.get_executor(), [&](std::exception_ptr e) { woke = e; });
  remote.shutdown(asio::socket_base::shutdown_send);
  io.run_for(std::chrono::seconds(10));
  io.restart();
  ASSERT_TRUE(woke);
  EXPECT_EQ(*woke, nullptr);
  std::array<std::uint8_t, 4> buf{};
  std::optional<std::size_t> n;
  asio::co_spawn(io, local.read_some(buf), [&](std::exception_ptr e, std::size_t got) {
    ASSERT_FALSE(e);
    n = got;
  });
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(n, 0u);
}

TEST(TcpStream, OnReadableSeesBytesWhoseEdgeWasTakenWhileNoWaitWasPending) {
  asio::io_context io;
  Pair p = connected(io);
  auto& remote = p.remote;
  auto& local = p.local;
  // One read drains the socket, so the next bytes raise a new edge.
  asio::write(remote, asio::buffer("a", 1));
  std::array<std::uint8_t, 16> buf{};
  std::optional<std::size_t> n;
  asio::co_spawn(io, local.read_some(buf), [&](std::exception_ptr e, std::size_t got) {
    ASSERT_FALSE(e);
    n = got;
  });
  io.run_for(std::chrono::seconds(10));
  io.restart();
  ASSERT_EQ(n, 1u);
  // Bytes arrive and the reactor runs (taking their edge) before anyone waits.
  asio::write(remote, asio::buffer("bc", 2));
  asio::steady_timer tick(io, std::chrono::milliseconds(20));
  tick.async_wait([](std::error_code) {});
  io.run();  // epoll_wait reports the socket with no operation pending on it
  io.restart();
  std::optional<std::exception_ptr> woke;
  local.on_readable(io.get_executor(), [&](std::exception_ptr e) { woke = e; });
  io.run_for(std::chrono::seconds(10));
  io.restart();
  ASSERT_TRUE(woke) << "the wait missed bytes already queued";
  EXPECT_EQ(*woke, nullptr);
  n.reset();
  asio::co_spawn(io, local.read_some(buf), [&](std::exception_ptr e, std::size_t got) {
    ASSERT_FALSE(e);
    n = got;
  });
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + 2), "bc");
}

// More than the socket buffers hold, both ways at once: writes that only
// partly fit go on asynchronously, reads alternate between bytes already
// queued and waits, and every byte arrives once and in order.
TEST(TcpStream, LargeTransfersArriveWholeAndInOrderBothWays) {
  asio::io_context io;
  Pair p = connected(io);
  auto& remote = p.remote;
  auto& local = p.local;
  constexpr std::size_t kSize = 8 * 1024 * 1024;
  std::vector<std::uint8_t> out(kSize);
  for (std::size_t i = 0; i < kSize; ++i) out[i] = static_cast<std::uint8_t>(i * 131 + i / 7);

  // The remote end echoes what it reads, from another thread, in small and
  // uneven pieces, so that the local reads see both queued bytes and waits.
  std::thread echo([&] {
    std::vector<std::uint8_t> chunk(3001);
    std::error_code ec;
    for (;;) {
      const std::size_t got = remote.read_some(asio::buffer(chunk), ec);
      if (ec) break;
      asio::write(remote, asio::buffer(chunk.data(), got), ec);
      if (ec) break;
    }
    remote.shutdown(asio::socket_base::shutdown_send, ec);
  });

  std::vector<std::uint8_t> in;
  in.reserve(kSize);
  bool wrote = false;
  bool read_done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Uneven write sizes, some far beyond the send buffer.
        std::size_t off = 0;
        std::size_t step = 1;
        while (off < kSize) {
          const std::size_t len = std::min(kSize - off, step);
          co_await local.write(BytesView(out.data() + off, len));
          off += len;
          step = step * 7 % 1000003 + 1;
        }
        co_await local.close_write();
        wrote = true;
      },
      [](std::exception_ptr e) { ASSERT_FALSE(e); });
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<std::uint8_t> buf(65536);
        for (;;) {
          if (in.size() % 3 == 0) co_await local.wait_readable();
          const std::size_t n =
              co_await local.read_some(std::span(buf.data(), 1 + in.size() % buf.size()));
          if (n == 0) break;
          in.insert(in.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        }
        read_done = true;
      },
      [](std::exception_ptr e) { ASSERT_FALSE(e); });
  io.run_for(std::chrono::seconds(60));
  echo.join();
  EXPECT_TRUE(wrote);
  EXPECT_TRUE(read_done);
  ASSERT_EQ(in.size(), kSize);
  EXPECT_TRUE(in == out);
  EXPECT_EQ(local.bytes_written(), kSize);
  EXPECT_EQ(local.bytes_read(), kSize);
}

}  // namespace
}  // namespace mp::net

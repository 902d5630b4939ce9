// net::TcpStream::on_readable: the callback form of wait_readable that a
// Yamux session parks an idle connection with. It completes once bytes (or
// the end) are there, leaving them to read, and with an error when the
// stream is reset while it waits.
#include "net/tcp_stream.hpp"

#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <optional>

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

}  // namespace
}  // namespace mp::net

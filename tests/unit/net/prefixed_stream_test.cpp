// net::PrefixedStream: the prefix first, then the inner stream; once
// drained, wait_readable is the inner stream's (ready at once before).
#include "net/prefixed_stream.hpp"

#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>

#include "net/memory_pipe.hpp"

namespace mp::net {
namespace {

TEST(PrefixedStream, PrefixThenInnerAndWaitReadableFollowsTheInnerOnceDrained) {
  asio::io_context io;
  auto [a, b] = make_memory_pipe(io.get_executor());
  std::shared_ptr<ByteStream> inner(std::move(b));
  PrefixedStream s(Bytes{'a', 'b', 'c'}, inner);
  ByteStream& writer = *a;
  std::vector<std::string> steps;

  auto body = [&]() -> asio::awaitable<void> {
    // Prefix bytes pending: ready although the inner stream has nothing.
    co_await s.wait_readable();
    steps.push_back("ready with prefix");
    std::array<std::uint8_t, 8> buf{};
    std::size_t n = co_await s.read_some(std::span(buf.data(), 2));
    steps.push_back(std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)));
    n = co_await s.read_some(buf);
    steps.push_back(std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)));
    EXPECT_TRUE(s.drained());
    // Drained: the wait is the inner stream's, which finishes once bytes come.
    asio::awaitable<void> wait = s.wait_readable();
    const Bytes de{'d', 'e'};  // named: GCC 12 rejects a braced temporary across co_await
    co_await writer.write(de);
    co_await std::move(wait);
    steps.push_back("ready with inner bytes");
    n = co_await s.read_some(buf);
    steps.push_back(std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)));
    co_await writer.close_write();
    co_await s.wait_readable();  // the end counts as readable
    n = co_await s.read_some(buf);
    steps.push_back(std::to_string(n));
  };
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    error = e;
  });
  io.run_for(std::chrono::seconds(20));
  ASSERT_TRUE(done);
  if (error) std::rethrow_exception(error);
  EXPECT_EQ(steps, (std::vector<std::string>{"ready with prefix", "ab", "c",
                                             "ready with inner bytes", "de", "0"}));
}

}  // namespace
}  // namespace mp::net

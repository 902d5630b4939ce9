// net::DeadlineStream over a Yamux stream: an answer the remote never takes
// (no window credit) is abandoned at the deadline: the stream is reset, the
// write fails, and the expiry is reported once.
#include "net/deadline_stream.hpp"

#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <vector>

#include "net/memory_pipe.hpp"
#include "test_util.hpp"
#include "yamux/session.hpp"

namespace mp::yamux {
namespace {

using test::read_frame;
using test::run_to_completion;
using test::write_frame;

TEST(DeadlineStream, AnswerBlockedOnWindowIsResetAtTheDeadline) {
  asio::io_context io;
  auto [a, b] = net::make_memory_pipe(io.get_executor());
  auto session = Session::create(io.get_executor(), std::move(a), false);
  std::unique_ptr<net::MemoryStream> peer = std::move(b);
  int expired = 0;
  bool write_failed = false;
  session->start([&](std::shared_ptr<Stream> s) {
    auto guarded = std::make_shared<net::DeadlineStream>(
        io.get_executor(), s, std::chrono::milliseconds(200), [&expired] { ++expired; });
    asio::co_spawn(
        io,
        [guarded, &write_failed]() -> asio::awaitable<void> {
          try {
            // More than the 256 KiB send window: waits for credit forever.
            co_await guarded->write(test::pattern(3, 300 * 1024));
          } catch (const std::system_error&) {
            write_failed = true;
          }
        },
        asio::detached);
  });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*peer);
    co_await write_frame(*peer, {FrameType::window_update, flags::syn, 1, 0});
    auto f = co_await read_frame(in);
    while (f && !(f->header.flags & flags::rst)) f = co_await read_frame(in);
    EXPECT_TRUE(f) << "no RST for the blocked answer";
    peer->reset();
  });
  EXPECT_TRUE(write_failed);
  EXPECT_EQ(expired, 1);
}

TEST(DeadlineStream, WritesThatCompleteAreNotReset) {
  asio::io_context io;
  auto [a, b] = net::make_memory_pipe(io.get_executor());
  auto session = Session::create(io.get_executor(), std::move(a), false);
  std::unique_ptr<net::MemoryStream> peer = std::move(b);
  int expired = 0;
  // Kept past the test body: a deadline timer left armed would still run
  // (run_to_completion drains every pending operation) and reset the stream.
  std::vector<std::shared_ptr<net::DeadlineStream>> held;
  session->start([&](std::shared_ptr<Stream> s) {
    auto guarded = std::make_shared<net::DeadlineStream>(
        io.get_executor(), s, std::chrono::milliseconds(50), [&expired] { ++expired; });
    held.push_back(guarded);
    asio::co_spawn(
        io,
        [guarded]() -> asio::awaitable<void> {
          co_await guarded->write(as_bytes("pong"));
          co_await guarded->close_write();
        },
        asio::detached);
  });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*peer);
    co_await write_frame(*peer, {FrameType::window_update, flags::syn, 1, 0});
    auto f = co_await read_frame(in);
    EXPECT_TRUE(f && f->header.type == FrameType::data && as_string(f->payload) == "pong");
    auto fin = co_await read_frame(in);
    EXPECT_TRUE(fin && (fin->header.flags & flags::fin));
    peer->reset();
  });
  EXPECT_EQ(expired, 0);
  held.clear();
}

}  // namespace
}  // namespace mp::yamux

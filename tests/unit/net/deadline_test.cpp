// net::Deadline: resets its stream when the time passes, never after the
// scope ended or the deadline moved. The io_context is run until it has no
// work left (io.run / io.poll), so "did not reset" is a fact, not a wait.
#include "net/deadline.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

namespace mp::net {
namespace {

using namespace std::chrono_literals;

// Counts resets; nothing else is used by a Deadline.
class ResetProbe final : public ByteStream {
 public:
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t>) override { co_return 0; }
  asio::awaitable<void> write(BytesView) override { co_return; }
  asio::awaitable<void> close_write() override { co_return; }
  void reset() override { ++resets; }
  int resets = 0;
};

TEST(Deadline, ResetsTheStreamWhenTheTimePasses) {
  asio::io_context io;
  auto probe = std::make_shared<ResetProbe>();
  Deadline deadline(io.get_executor(), 1ms, probe);
  io.run();  // until the timer has fired
  EXPECT_EQ(probe->resets, 1);
  EXPECT_TRUE(deadline.fired());
}

TEST(Deadline, LeavingTheScopeDisarmsIt) {
  asio::io_context io;
  auto probe = std::make_shared<ResetProbe>();
  { Deadline deadline(io.get_executor(), 0ms, probe); }  // expired already, never run
  io.run();  // the cancelled handler runs, and nothing else is left
  EXPECT_EQ(probe->resets, 0);
}

TEST(Deadline, RestartMovesTheDeadline) {
  asio::io_context io;
  auto probe = std::make_shared<ResetProbe>();
  {
    Deadline deadline(io.get_executor(), 0ms, probe);
    deadline.restart(std::chrono::steady_clock::duration(std::chrono::hours(1)));
    io.poll();  // every handler that is ready: the first deadline's, cancelled
    EXPECT_EQ(probe->resets, 0);
    EXPECT_FALSE(deadline.fired());
  }
  io.run();
  EXPECT_EQ(probe->resets, 0);
}

TEST(Deadline, DeadlinesMayFollowEachOtherOnOneStream) {
  asio::io_context io;
  auto probe = std::make_shared<ResetProbe>();
  { Deadline first(io.get_executor(), 0ms, probe); }
  Deadline second(io.get_executor(), 1ms, probe);
  io.run();
  EXPECT_EQ(probe->resets, 1);  // the second one's, not the first one's
  EXPECT_TRUE(second.fired());
}

TEST(Deadline, AFiredDeadlineStaysFired) {
  asio::io_context io;
  auto probe = std::make_shared<ResetProbe>();
  Deadline deadline(io.get_executor(), 1ms, probe);
  io.run();
  deadline.restart(std::chrono::steady_clock::duration(std::chrono::hours(1)));  // too late
  EXPECT_TRUE(deadline.fired());
  io.restart();
  io.run();  // nothing armed: returns at once
  EXPECT_EQ(probe->resets, 1);
}

}  // namespace
}  // namespace mp::net

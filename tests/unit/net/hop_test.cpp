// net::run_on: a coroutine on one io_context runs a step on another and
// resumes on its own thread with the step's result or exception.
#include "net/hop.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <stdexcept>
#include <thread>

namespace mp::net {
namespace {

struct TwoContexts {
  asio::io_context caller{1};
  asio::io_context owner{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(owner);
  std::thread owner_thread{[this] { owner.run(); }};
  ~TwoContexts() {
    guard.reset();
    owner_thread.join();
  }
};

TEST(RunOn, StepRunsOnTheOwnerAndTheCallerResumesOnItsThread) {
  TwoContexts t;
  std::thread::id step_thread, resumed_thread;
  int result = 0;
  asio::co_spawn(
      t.caller,
      [&]() -> asio::awaitable<void> {
        result = co_await run_on(t.owner.get_executor(), [&] {
          step_thread = std::this_thread::get_id();
          EXPECT_TRUE(runs_here(t.owner.get_executor()));
          return 41 + 1;
        });
        resumed_thread = std::this_thread::get_id();
        EXPECT_TRUE(runs_here(t.caller.get_executor()));
        EXPECT_FALSE(runs_here(t.owner.get_executor()));
      },
      [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  t.caller.run();
  EXPECT_EQ(result, 42);
  EXPECT_EQ(step_thread, t.owner_thread.get_id());
  EXPECT_EQ(resumed_thread, std::this_thread::get_id());
}

TEST(RunOn, ExceptionsAndVoidStepsCrossBack) {
  TwoContexts t;
  bool caught = false, ran = false;
  asio::co_spawn(
      t.caller,
      [&]() -> asio::awaitable<void> {
        co_await run_on(t.owner.get_executor(), [&] { ran = true; });
        try {
          co_await run_on(t.owner.get_executor(), []() -> int { throw std::runtime_error("no"); });
        } catch (const std::runtime_error&) {
          caught = true;
        }
      },
      [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  t.caller.run();
  EXPECT_TRUE(ran);
  EXPECT_TRUE(caught);
}

TEST(RunOn, InlineOnTheOwnThread) {
  asio::io_context io{1};
  std::thread::id step_thread;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await run_on(io.get_executor(), [&] { step_thread = std::this_thread::get_id(); });
      },
      [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  io.run();
  EXPECT_EQ(step_thread, std::this_thread::get_id());
}

}  // namespace
}  // namespace mp::net

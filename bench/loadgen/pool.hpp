// Pool: N threads, each running its own io_context, with one ThreadStats
// and one Gate per thread. Work is spawned on a chosen context; everything
// a coroutine touches (its connection, stats(i), gate(i)) belongs to that
// context's thread.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "loadgen/stats.hpp"

namespace mp::loadgen {

// A one-shot event on one io_context: waiters resume once it is opened.
class Gate {
 public:
  explicit Gate(asio::io_context& ctx) : timer_(ctx) {
    timer_.expires_at(std::chrono::steady_clock::time_point::max());
  }
  asio::awaitable<void> wait() {
    while (!open_) {
      std::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  // From the gate's own thread.
  void open() {
    open_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  bool open_ = false;
};

class Pool {
 public:
  explicit Pool(int threads);
  // Lets connections close for a moment, then stops and joins the threads.
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  std::size_t size() const { return ctxs_.size(); }
  asio::io_context& context(std::size_t i) { return *ctxs_[i % ctxs_.size()]; }
  ThreadStats& stats(std::size_t i) { return stats_[i % stats_.size()]; }
  // Opens gate `which` of every thread (each on its own thread).
  void open_gates(std::size_t which);
  Gate& gate(std::size_t i, std::size_t which) { return *gates_[i % ctxs_.size()][which]; }
  // All threads' stats merged (call once the phase's coroutines are done).
  ThreadStats merged();

 private:
  std::vector<std::unique_ptr<asio::io_context>> ctxs_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<ThreadStats> stats_;
  std::vector<std::vector<std::unique_ptr<Gate>>> gates_;  // [thread][which]
  std::vector<std::thread> threads_;
};

}  // namespace mp::loadgen

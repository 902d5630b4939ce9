// WorkerPool: a few threads that run pure, CPU-heavy steps (the Noise
// handshake's X25519 and signature checks) off the network thread, so that
// connection setups use every core while each connection stays on its own
// io_context (NETWORK_THREADS, issue 13; ARCHITECTURE.md "Threads").
//
//   Status st;
//   auto step = [&] { st = handshake.write_message(out); };
//   co_await pool.run(step);   // step ran on a worker (or inline, see below);
//                              // the caller resumes on its own executor
//
// Contract:
//  - `step` runs exactly once, on a worker thread, while the calling
//    coroutine is suspended; it must touch only what nobody else touches
//    until run() returns (objects of the calling coroutine's frame) and
//    state that is safe to read from several threads at once (an immutable
//    identity). An exception it throws is rethrown by run() on the caller.
//  - The pool holds at most `max_pending` steps (queued or running). Past
//    that, run() runs the step inline on the caller's thread: memory stays
//    bounded and a busy pool makes the network thread help. Both are counted.
//  - The caller's executor is kept busy (outstanding work) while its step is
//    away, so its io_context does not run out of work and return.
//  - The destructor waits for the steps in progress (they are short); their
//    callers' executors must still exist then: destroy the pool before the
//    io_context and before whatever its steps read (the identity).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

namespace mp::net {

class WorkerPool {
 public:
  // `threads` >= 1 workers, named "mp-crypto-N".
  WorkerPool(std::size_t threads, std::size_t max_pending);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  template <typename Step>
  asio::awaitable<void> run(Step& step);

  std::size_t threads() const { return threads_.size(); }
  std::size_t max_pending() const { return max_pending_; }
  // Steps queued or running now.
  std::size_t pending() const { return pending_.load(std::memory_order_acquire); }
  // Steps that ran on a worker, and inline because the pool was full.
  std::uint64_t ran_on_pool() const { return on_pool_.load(std::memory_order_relaxed); }
  std::uint64_t ran_inline() const { return inline_.load(std::memory_order_relaxed); }

 private:
  bool reserve();
  void release() { pending_.fetch_sub(1, std::memory_order_acq_rel); }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  std::vector<std::thread> threads_;
  const std::size_t max_pending_;
  std::atomic<std::size_t> pending_{0};
  std::atomic<std::uint64_t> on_pool_{0};
  std::atomic<std::uint64_t> inline_{0};
};

template <typename Step>
asio::awaitable<void> WorkerPool::run(Step& step) {
  if (!reserve()) {
    inline_.fetch_add(1, std::memory_order_relaxed);
    step();
    co_return;
  }
  std::exception_ptr error;
  co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(
      [this, &step, &error](auto handler) {
        // The caller's executor, marked busy until the handler is back on it.
        asio::any_io_executor back = asio::prefer(asio::get_associated_executor(handler),
                                                  asio::execution::outstanding_work.tracked);
        asio::post(io_, [this, &step, &error, back = std::move(back),
                         handler = std::move(handler)]() mutable {
          try {
            step();
          } catch (...) {
            error = std::current_exception();
          }
          on_pool_.fetch_add(1, std::memory_order_relaxed);
          release();
          asio::post(back, std::move(handler));
        });
      },
      asio::use_awaitable);
  if (error) std::rethrow_exception(error);
}

}  // namespace mp::net

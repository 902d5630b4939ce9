// ContextPool: the network threads (NETWORK_THREADS >= 2): N io_contexts,
// each run by a thread of its own, on which connections live (a connection's
// socket, Noise, Yamux and its connection-thread handlers stay on one of
// them for its whole life; ARCHITECTURE.md "Threads").
//
// Lifetime: the threads run from construction until stop(). Destroy the
// pool after everything that holds a socket or timer of its contexts, and
// after the contexts that may still hold handlers pointing into them: the
// node declares it before its own io_context, and stops it first.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace mp::net {

class ContextPool {
 public:
  explicit ContextPool(std::size_t threads);
  ~ContextPool();
  ContextPool(const ContextPool&) = delete;
  ContextPool& operator=(const ContextPool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  std::vector<asio::any_io_executor> executors() const;
  // Stops every context (pending handlers are kept, not run) and joins the
  // threads. Idempotent.
  void stop();

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace mp::net

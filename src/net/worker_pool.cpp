#include "net/worker_pool.hpp"

#include <pthread.h>

#include <string>

namespace mp::net {

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_pending)
    : keep_running_(asio::make_work_guard(io_)), max_pending_(max_pending) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i] {
      const std::string name = "mp-crypto-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());  // perf and top show it
      io_.run();
    });
  }
}

WorkerPool::~WorkerPool() {
  // Steps already queued still run and post their callers' handlers back:
  // run() returns once the queue is empty.
  keep_running_.reset();
  for (std::thread& t : threads_) t.join();
}

bool WorkerPool::reserve() {
  std::size_t n = pending_.load(std::memory_order_relaxed);
  while (n < max_pending_) {
    if (pending_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) return true;
  }
  return false;
}

}  // namespace mp::net

#include "net/context_pool.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <exception>
#include <string>

namespace mp::net {

ContextPool::ContextPool(std::size_t threads) {
  contexts_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([io = contexts_[i].get(), i] {
      // The main thread is network thread 0; perf and top show these as 1..N-1.
      const std::string name = "mp-net-" + std::to_string(i + 1);
      pthread_setname_np(pthread_self(), name.c_str());
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // A handler that throws must not take the thread (and every
          // connection on it) down; the same policy as the owner thread.
          spdlog::error("network thread: unhandled exception: {}", e.what());
        }
      }
    });
  }
}

ContextPool::~ContextPool() {
  stop();
}

std::vector<asio::any_io_executor> ContextPool::executors() const {
  std::vector<asio::any_io_executor> out;
  out.reserve(contexts_.size());
  for (const auto& ctx : contexts_) out.push_back(ctx->get_executor());
  return out;
}

void ContextPool::stop() {
  guards_.clear();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace mp::net

#include "loadgen/pool.hpp"

namespace mp::loadgen {

namespace {
constexpr std::size_t kGatesPerThread = 2;
// Time given to sessions to send their GoAway and see the server's EOF
// before the threads are stopped.
constexpr auto kCloseGrace = std::chrono::milliseconds(1000);
}  // namespace

Pool::Pool(int threads) : stats_(static_cast<std::size_t>(threads < 1 ? 1 : threads)) {
  const std::size_t n = stats_.size();
  for (std::size_t i = 0; i < n; ++i) {
    ctxs_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*ctxs_.back()));
    gates_.emplace_back();
    for (std::size_t g = 0; g < kGatesPerThread; ++g) {
      gates_.back().push_back(std::make_unique<Gate>(*ctxs_.back()));
    }
  }
  for (auto& ctx : ctxs_) threads_.emplace_back([c = ctx.get()] { c->run(); });
}

Pool::~Pool() {
  guards_.clear();
  for (auto& ctx : ctxs_) {
    auto timer = std::make_shared<asio::steady_timer>(*ctx, kCloseGrace);
    timer->async_wait([timer, c = ctx.get()](std::error_code) { c->stop(); });
  }
  for (auto& t : threads_) t.join();
}

void Pool::open_gates(std::size_t which) {
  for (std::size_t i = 0; i < ctxs_.size(); ++i) {
    asio::post(*ctxs_[i], [g = gates_[i][which].get()] { g->open(); });
  }
}

ThreadStats Pool::merged() {
  ThreadStats all;
  for (auto& s : stats_) all.merge(std::move(s));
  stats_.assign(stats_.size(), ThreadStats{});
  return all;
}

}  // namespace mp::loadgen

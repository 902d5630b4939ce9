// ResourceBudget reservations (bench/README.md, "Resource budget"): what a
// Yamux session pays per DATA frame it buffers or queues, one reserve and
// its release, on one thread and on several threads at once (each with its
// own connection, or all on one IP and peer). Numbers only; nothing is
// asserted.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "host/resource_budget.hpp"

namespace {

std::shared_ptr<mp::host::ResourceBudget>& shared_budget() {
  static auto b = mp::host::ResourceBudget::create(mp::host::BudgetLimits{});
  return b;
}

// Arg 0: every thread's connection on its own IP and peer; 1: all on one
// IP and peer (the maps' same entries).
void BM_BudgetReserveRelease(benchmark::State& state) {
  const bool same = state.range(0) == 1;
  const std::string suffix = same ? "0" : std::to_string(state.thread_index());
  auto account = shared_budget()->open_connection("10.0.0." + suffix);
  account->set_peer("12D3KooWPeer" + suffix);
  constexpr std::size_t kFrame = 16 * 1024;  // Config::max_send_frame
  for (auto _ : state) {
    auto refused = account->reserve(0, kFrame);
    benchmark::DoNotOptimize(refused);
    account->release(kFrame);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BudgetReserveRelease)->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

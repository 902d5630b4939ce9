#include "app/misbehaviour_summary.hpp"

namespace mp::app {

void MisbehaviourSummary::watch(std::string name, std::function<std::uint64_t()> read) {
  const std::uint64_t now = read();
  counters_.push_back(Watched{std::move(name), std::move(read), now});
}

std::vector<std::string> MisbehaviourSummary::collect(std::chrono::seconds interval) {
  std::vector<std::string> lines;
  for (auto& c : counters_) {
    const std::uint64_t total = c.read();
    // A counter never goes down; if one were reset, start over from it.
    if (total > c.last) {
      lines.push_back(c.name + ": " + std::to_string(total - c.last) + " in the last " +
                      std::to_string(interval.count()) + "s (" + std::to_string(total) +
                      " since start)");
    }
    c.last = total;
  }
  return lines;
}

}  // namespace mp::app

#include "relay/metrics.hpp"

#include <spdlog/fmt/fmt.h>

namespace mp::relay {

std::string metrics_text(const RelayCounters& c) {
  std::string out =
      "# HELP mepassa_relay_refusals_total Relay requests refused, by the status sent.\n"
      "# TYPE mepassa_relay_refusals_total counter\n";
  for (std::size_t i = 0; i < static_cast<std::size_t>(Refusal::kCount); ++i) {
    out += fmt::format("mepassa_relay_refusals_total{{reason=\"{}\"}} {}\n",
                       refusal_name(static_cast<Refusal>(i)), c.refusals[i].load());
  }
  out +=
      "# HELP mepassa_relay_limit_refusals_total Relay reservations and circuits refused, by the limit.\n"
      "# TYPE mepassa_relay_limit_refusals_total counter\n";
  for (std::size_t kind = 0; kind < 2; ++kind) {
    for (std::size_t i = 1; i < static_cast<std::size_t>(LimitHit::kCount); ++i) {
      out += fmt::format("mepassa_relay_limit_refusals_total{{kind=\"{}\",limit=\"{}\"}} {}\n",
                         kind == 0 ? "reservation" : "circuit", limit_name(static_cast<LimitHit>(i)),
                         c.limit_refusals[kind][i].load());
    }
  }
  return out;
}

}  // namespace mp::relay

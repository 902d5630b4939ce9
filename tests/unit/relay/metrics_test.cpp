// The relay's refusals as Prometheus text: every series from the start, and
// a refusal moves its own series only.
#include "relay/metrics.hpp"

#include <gtest/gtest.h>

namespace mp::relay {
namespace {

bool has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(RelayMetrics, EverySeriesFromTheStartAndARefusalMovesItsOwn) {
  RelayCounters c;
  const auto before = metrics_text(c);
  EXPECT_TRUE(has(before, "# TYPE mepassa_relay_refusals_total counter"));
  EXPECT_TRUE(has(before, "mepassa_relay_refusals_total{reason=\"no_reservation\"} 0"));
  EXPECT_TRUE(has(before, "mepassa_relay_limit_refusals_total{kind=\"circuit\",limit=\"subnet\"} 0"));

  c.refusals[static_cast<std::size_t>(Refusal::kNoReservation)] += 3;
  c.limit_refusals[0][static_cast<std::size_t>(LimitHit::kPeer)] += 2;
  const auto after = metrics_text(c);
  EXPECT_TRUE(has(after, "mepassa_relay_refusals_total{reason=\"no_reservation\"} 3"));
  EXPECT_TRUE(has(after, "mepassa_relay_refusals_total{reason=\"malformed_message\"} 0"));
  EXPECT_TRUE(has(after, "mepassa_relay_limit_refusals_total{kind=\"reservation\",limit=\"peer\"} 2"));
  EXPECT_TRUE(has(after, "mepassa_relay_limit_refusals_total{kind=\"circuit\",limit=\"peer\"} 0"));
}

}  // namespace
}  // namespace mp::relay

// AutoNAT v1 answers as Prometheus text: one series per status, from zero.
#include <gtest/gtest.h>

#include "autonat/server.hpp"

namespace mp::autonat {
namespace {

bool has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(AutonatMetrics, OneSeriesPerStatusAndAnAnswerMovesItsOwn) {
  AutonatCounters c;
  EXPECT_TRUE(has(metrics_text(c), "mepassa_autonat_responses_total{status=\"dial_refused\"} 0"));
  EXPECT_TRUE(has(metrics_text(c), "mepassa_autonat_responses_total{status=\"internal_error\"} 0"));
  c.dial_refused += 2;
  c.ok += 1;
  c.internal_error += 3;
  const auto text = metrics_text(c);
  EXPECT_TRUE(has(text, "# TYPE mepassa_autonat_responses_total counter"));
  EXPECT_TRUE(has(text, "mepassa_autonat_responses_total{status=\"ok\"} 1"));
  EXPECT_TRUE(has(text, "mepassa_autonat_responses_total{status=\"dial_error\"} 0"));
  EXPECT_TRUE(has(text, "mepassa_autonat_responses_total{status=\"dial_refused\"} 2"));
  EXPECT_TRUE(has(text, "mepassa_autonat_responses_total{status=\"bad_request\"} 0"));
  EXPECT_TRUE(has(text, "mepassa_autonat_responses_total{status=\"internal_error\"} 3"));
}

}  // namespace
}  // namespace mp::autonat

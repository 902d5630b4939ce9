#include "app/misbehaviour_summary.hpp"

#include <gtest/gtest.h>

namespace mp::app {
namespace {

using namespace std::chrono_literals;

TEST(MisbehaviourSummary, OneLinePerCounterThatGrew) {
  std::uint64_t noise = 3, kad_full = 0, quiet = 7;
  MisbehaviourSummary s;
  s.watch("handshake failed (noise)", [&] { return noise; });
  s.watch("kad refused (provider_store_full)", [&] { return kad_full; });
  s.watch("relay refused (resource_limit_exceeded)", [&] { return quiet; });
  EXPECT_EQ(s.watched(), 3u);
  // What was counted before watch() is not reported.
  EXPECT_TRUE(s.collect(60s).empty());

  noise += 5000;
  kad_full += 20000;
  auto lines = s.collect(60s);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "handshake failed (noise): 5000 in the last 60s (5003 since start)");
  EXPECT_EQ(lines[1],
            "kad refused (provider_store_full): 20000 in the last 60s (20000 since start)");

  // Nothing new: nothing to say.
  EXPECT_TRUE(s.collect(60s).empty());
  kad_full += 1;
  lines = s.collect(2s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "kad refused (provider_store_full): 1 in the last 2s (20001 since start)");
}

}  // namespace
}  // namespace mp::app

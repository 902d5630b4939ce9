// The warm-start rule: an unreachable stored peer loses reputation and
// leaves the routing table only when that takes it to the floor.
#include "app/warm_start.hpp"

#include <gtest/gtest.h>

namespace mp::app {
namespace {

TEST(WarmStartRule, NewPeerSurvivesOneFailedRestart) {
  // Default reputation 1.0: one failure leaves 0.5, still in the table.
  EXPECT_FALSE(leaves_routing_table_when_unreachable(storage::kReputationDefault));
}

TEST(WarmStartRule, SecondFailedRestartRemoves) {
  EXPECT_TRUE(leaves_routing_table_when_unreachable(storage::kReputationDefault -
                                                    storage::kReputationDialFailurePenalty));
  EXPECT_TRUE(leaves_routing_table_when_unreachable(storage::kReputationFloor));
}

TEST(WarmStartRule, StablePeersGetMoreGrace) {
  EXPECT_FALSE(leaves_routing_table_when_unreachable(storage::kReputationMax));
  // 0.5 + 0.1 (one stable bonus, with its binary rounding) keeps the peer.
  EXPECT_FALSE(leaves_routing_table_when_unreachable(0.5 + storage::kReputationStableBonus));
  // Rounding must not keep a peer that is at the penalty exactly: 0.1 * 5.
  double r = 0.0;
  for (int i = 0; i < 5; ++i) r += storage::kReputationStableBonus;
  EXPECT_TRUE(leaves_routing_table_when_unreachable(r));
}

TEST(WarmStartTally, CountsEveryOutcomeAndSaysWhenToRemove) {
  WarmStartTally t(6);
  EXPECT_FALSE(t.record(WarmStartOutcome::kReached, 0.0));
  EXPECT_FALSE(t.record(WarmStartOutcome::kAlreadyConnected, 0.0));
  EXPECT_FALSE(t.record(WarmStartOutcome::kSkipped, 0.0));
  EXPECT_FALSE(t.record(WarmStartOutcome::kUnreachable, 1.0));
  EXPECT_TRUE(t.record(WarmStartOutcome::kUnreachable, 0.5));
  // Another fleet member's share: neither dialed nor removed here.
  EXPECT_FALSE(t.record(WarmStartOutcome::kOtherMember, 0.0));
  EXPECT_FALSE(t.report().finished);
  t.finish();
  const WarmStartReport& r = t.report();
  EXPECT_EQ(r.peers, 6u);
  EXPECT_EQ(r.reached, 1u);
  EXPECT_EQ(r.already_connected, 1u);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(r.unreachable, 2u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.other_member, 1u);
  EXPECT_TRUE(r.finished);
}

}  // namespace
}  // namespace mp::app

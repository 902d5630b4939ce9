#include "host/handshake_table.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace mp::host {
namespace {

using namespace std::chrono_literals;
const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

TEST(HandshakeTable, PerIpQuotaRefusesOnlyThatIp) {
  HandshakeTable t(100, 2);
  EXPECT_TRUE(t.admit("10.0.0.1", t0).admitted());
  const auto second = t.admit("10.0.0.1", t0);
  EXPECT_TRUE(second.admitted());
  const auto third = t.admit("10.0.0.1", t0);
  EXPECT_FALSE(third.admitted());
  EXPECT_EQ(third.refused_by, Scope::kIp);
  EXPECT_TRUE(t.admit("10.0.0.2", t0).admitted());
  t.remove(second.id);
  EXPECT_TRUE(t.admit("10.0.0.1", t0).admitted());
  EXPECT_EQ(t.count_for("10.0.0.1"), 2u);
}

TEST(HandshakeTable, FullTableEvictsTheOldestWithLeastProgress) {
  HandshakeTable t(3, 10, 1000ms);
  const auto a = t.admit("10.0.0.1", t0);
  const auto b = t.admit("10.0.0.2", t0 + 1ms);
  const auto c = t.admit("10.0.0.3", t0 + 2ms);
  t.advance(a.id, HandshakeStage::kSecurity);  // a is oldest but got further
  const auto d = t.admit("10.0.0.4", t0 + 5s);
  EXPECT_TRUE(d.admitted());
  EXPECT_EQ(d.evicted, b.id);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.count_for("10.0.0.2"), 0u);
  // Next: c (still at kAccepted) before a, though a is older.
  const auto e = t.admit("10.0.0.5", t0 + 6s);
  EXPECT_EQ(e.evicted, c.id);
  t.remove(c.id);  // the evicted socket's coroutine reports it later: no-op
  EXPECT_EQ(t.size(), 3u);
}

// A handshake on a network thread writes its stage through the admission's
// progress (an atomic), with no message to the table's owner; the table
// reads it when it picks a victim. Stages never go back.
TEST(HandshakeTable, ProgressWrittenFromAnotherThreadCountsForEviction) {
  HandshakeTable t(2, 10, 1000ms);
  const auto a = t.admit("10.0.0.1", t0);
  const auto b = t.admit("10.0.0.2", t0 + 1ms);
  ASSERT_TRUE(a.progress && b.progress);
  std::thread([p = a.progress] {
    advance(p, HandshakeStage::kMuxer);
    advance(p, HandshakeStage::kSecurity);  // ignored: not a step back
  }).join();
  EXPECT_EQ(a.progress->load(), HandshakeStage::kMuxer);
  const auto c = t.admit("10.0.0.3", t0 + 5s);
  EXPECT_EQ(c.evicted, b.id);  // b is younger, but a got further
  t.advance(c.id, HandshakeStage::kSecurity);  // the owner's own way, same atomic
  EXPECT_EQ(c.progress->load(), HandshakeStage::kSecurity);
  advance(nullptr, HandshakeStage::kMuxer);  // a dial has no entry: nothing happens
}

TEST(HandshakeTable, YoungHandshakesAreEvictedOnlyForAnIpWithFewer) {
  HandshakeTable t(2, 10, 1000ms);
  t.admit("10.0.0.1", t0);
  t.admit("10.0.0.1", t0);
  // Same IP, young entries: it competes with itself.
  const auto c = t.admit("10.0.0.1", t0 + 500ms);
  EXPECT_FALSE(c.admitted());
  EXPECT_EQ(c.refused_by, Scope::kNode);
  EXPECT_FALSE(c.evicted);
  // An IP with no handshake takes one from the IP holding two, young or not.
  const auto d = t.admit("10.0.0.2", t0 + 500ms);
  EXPECT_TRUE(d.admitted());
  EXPECT_TRUE(d.evicted);
  // 10.0.0.1 and 10.0.0.2 now hold one each, both young: a newcomer from
  // 10.0.0.1 (one already) cannot push out 10.0.0.2's.
  const auto e = t.admit("10.0.0.1", t0 + 600ms);
  EXPECT_FALSE(e.admitted());
  EXPECT_EQ(t.count_for("10.0.0.2"), 1u);
}

TEST(HandshakeTable, HonestHandshakeThatProgressedOutlivesStalledOnes) {
  HandshakeTable t(3, 10, 1000ms);
  const auto honest = t.admit("192.0.2.1", t0);
  t.advance(honest.id, HandshakeStage::kSecurity);
  for (int i = 0; i < 20; ++i) {
    const auto a = t.admit("10.0.0." + std::to_string(i), t0 + std::chrono::seconds(2 + i));
    EXPECT_TRUE(a.admitted());
    EXPECT_NE(a.evicted, honest.id);
  }
}

TEST(HandshakeTable, SlowlorisFromManyIpsLeavesRoomForANewcomer) {
  // 40 IPs x 4 half-open sockets against a table of 32: every newcomer,
  // honest or not, gets in by evicting a stalled socket older than min_age.
  HandshakeTable t(32, 4, 1000ms);
  int refused = 0;
  for (int ip = 0; ip < 40; ++ip) {
    for (int i = 0; i < 4; ++i) {
      if (!t.admit("10.1.0." + std::to_string(ip), t0 + std::chrono::seconds(ip)).admitted())
        ++refused;
    }
  }
  EXPECT_EQ(t.size(), 32u);
  const auto honest = t.admit("192.0.2.1", t0 + 60s);
  EXPECT_TRUE(honest.admitted());
  EXPECT_TRUE(honest.evicted);
  EXPECT_EQ(refused, 0);
}

}  // namespace
}  // namespace mp::host

// The eviction policy of the HTTP server, without sockets.
#include "http/connection_table.hpp"

#include <gtest/gtest.h>

namespace mp::http {
namespace {

using Kind = ConnectionTable::Admission::Kind;
using namespace std::chrono_literals;

const ConnectionTable::Clock::time_point t0{};

TEST(ConnectionTable, AdmitsUpToCapacityAsIdle) {
  ConnectionTable t(3);
  for (ConnectionTable::Id id = 1; id <= 3; ++id) EXPECT_EQ(t.admit(id, t0).kind, Kind::kAdmitted);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.idle_count(), 3u);
  EXPECT_TRUE(t.is_idle(2));
}

TEST(ConnectionTable, AtCapacityTheLongestIdleGivesWay) {
  ConnectionTable t(3);
  t.admit(1, t0);
  t.admit(2, t0 + 1s);
  t.admit(3, t0 + 2s);
  // 1 got a request and went back to idle later than 2.
  t.set_busy(1);
  t.set_idle(1, t0 + 3s);
  const auto a = t.admit(4, t0 + 4s);
  EXPECT_EQ(a.kind, Kind::kEvicted);
  EXPECT_EQ(a.evicted, 2u);
  EXPECT_FALSE(t.contains(2));
  EXPECT_TRUE(t.contains(4));
  EXPECT_EQ(t.size(), 3u);
  // Next in line: 3 (idle since 2 s), then 1 (3 s), then 4 (4 s).
  EXPECT_EQ(t.admit(5, t0 + 5s).evicted, 3u);
  EXPECT_EQ(t.admit(6, t0 + 6s).evicted, 1u);
  EXPECT_EQ(t.admit(7, t0 + 7s).evicted, 4u);
}

TEST(ConnectionTable, BusyConnectionsAreNeverEvictedSoTheNewestIsRefused) {
  ConnectionTable t(2);
  t.admit(1, t0);
  t.admit(2, t0);
  t.set_busy(1);
  t.set_busy(2);
  EXPECT_EQ(t.admit(3, t0 + 1s).kind, Kind::kRefused);
  EXPECT_FALSE(t.contains(3));
  EXPECT_EQ(t.size(), 2u);
  // One finishes and waits for its next request: it is the one to go.
  t.set_idle(2, t0 + 2s);
  const auto a = t.admit(4, t0 + 3s);
  EXPECT_EQ(a.kind, Kind::kEvicted);
  EXPECT_EQ(a.evicted, 2u);
}

TEST(ConnectionTable, EqualIdleTimesEvictTheOlderConnection) {
  ConnectionTable t(2);
  t.admit(7, t0);
  t.admit(8, t0);
  EXPECT_EQ(t.admit(9, t0).evicted, 7u);
}

TEST(ConnectionTable, RemovingFreesRoomAndUnknownIdsAreIgnored) {
  ConnectionTable t(1);
  t.admit(1, t0);
  t.set_busy(1);
  t.remove(1);
  t.remove(1);
  t.set_idle(42, t0);
  t.set_busy(42);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.admit(2, t0).kind, Kind::kAdmitted);
  EXPECT_EQ(t.idle_count(), 1u);
}

TEST(ConnectionTable, ZeroCapacityMeansOne) {
  ConnectionTable t(0);
  EXPECT_EQ(t.capacity(), 1u);
  EXPECT_EQ(t.admit(1, t0).kind, Kind::kAdmitted);
}

}  // namespace
}  // namespace mp::http

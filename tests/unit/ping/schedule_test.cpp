// ping::Schedule without I/O: due times, spreading of the first pings,
// rescheduling after a ping, removal, and three failures in a row.
#include "ping/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace mp::ping {
namespace {

using namespace std::chrono_literals;
using Next = Schedule::Next;
using Result = Schedule::Result;

const Schedule::TimePoint t0{std::chrono::hours(1)};

TEST(PingSchedule, FirstPingFallsBetweenHalfAnIntervalAndOne) {
  Schedule s(10s);
  EXPECT_FALSE(s.next_due());
  for (std::uint64_t id = 1; id <= 1000; ++id) s.add(id, t0);
  ASSERT_EQ(s.size(), 1000u);
  EXPECT_TRUE(s.take_due(t0 + 5s - 1ns).empty());
  const auto next = s.next_due();
  ASSERT_TRUE(next);
  EXPECT_GE(*next, t0 + 5s);
  auto all = s.take_due(t0 + 10s);
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(s.waiting(), 0u);
  EXPECT_FALSE(s.next_due());
}

TEST(PingSchedule, ConnectionsAddedTogetherAreSpreadOverHalfTheInterval) {
  // 1,000 connections set up in the same instant: every tenth of the
  // half-interval window gets about a tenth of them, none gets a storm.
  Schedule s(10s);
  for (std::uint64_t id = 1; id <= 1000; ++id) s.add(id, t0);
  std::vector<std::size_t> per_slot;
  for (int slot = 1; slot <= 10; ++slot) {
    per_slot.push_back(s.take_due(t0 + 5s + slot * 500ms - 1ns).size());
  }
  for (const auto n : per_slot) {
    EXPECT_GE(n, 80u);
    EXPECT_LE(n, 120u);
  }
  EXPECT_EQ(s.waiting(), 0u);
}

TEST(PingSchedule, TakesDueConnectionsEarliestFirstAndReschedulesAfterThePing) {
  Schedule s(10s);
  s.add(7, t0);
  s.add(8, t0 + 1s);
  const auto d7 = t0 + s.first_delay(7);
  const auto d8 = t0 + 1s + s.first_delay(8);
  EXPECT_EQ(*s.next_due(), std::min(d7, d8));
  auto due = s.take_due(std::max(d7, d8));
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0], d7 <= d8 ? 7u : 8u);
  // In flight: not due again until its ping ends.
  EXPECT_FALSE(s.next_due());
  EXPECT_TRUE(s.take_due(t0 + 1h).empty());
  const auto end = t0 + 20s;
  EXPECT_EQ(s.finish(7, Result::ok, end), Next::wait);
  EXPECT_EQ(*s.next_due(), end + 10s);
  EXPECT_TRUE(s.take_due(end + 10s - 1ns).empty());
  EXPECT_EQ(s.take_due(end + 10s), std::vector<std::uint64_t>{7});
}

TEST(PingSchedule, RemovedConnectionsAreNeitherDueNorRescheduled) {
  Schedule s(10s);
  s.add(1, t0);
  s.add(2, t0);
  s.remove(1);  // waiting
  EXPECT_FALSE(s.contains(1));
  EXPECT_EQ(s.take_due(t0 + 10s), std::vector<std::uint64_t>{2});
  s.remove(2);  // in flight
  EXPECT_EQ(s.finish(2, Result::ok, t0 + 11s), Next::stop);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.next_due());
  s.remove(3);  // unknown: no-op
}

TEST(PingSchedule, AddingTwiceKeepsTheFirstDueTime) {
  Schedule s(10s);
  s.add(5, t0);
  s.add(5, t0 + 3s);
  EXPECT_EQ(s.waiting(), 1u);
  EXPECT_EQ(*s.next_due(), t0 + s.first_delay(5));
}

TEST(PingSchedule, ThreeFailuresInARowSayClose) {
  Schedule s(10s);
  s.add(1, t0);
  auto t = t0 + 10s;
  auto ping = [&](Result r) {
    EXPECT_EQ(s.take_due(t), std::vector<std::uint64_t>{1});
    const auto next = s.finish(1, r, t);
    t += 10s;
    return next;
  };
  EXPECT_EQ(ping(Result::failed), Next::wait);
  EXPECT_EQ(ping(Result::failed), Next::wait);
  EXPECT_EQ(ping(Result::ok), Next::wait);  // a success resets the count
  EXPECT_EQ(ping(Result::failed), Next::wait);
  EXPECT_EQ(ping(Result::failed), Next::wait);
  EXPECT_EQ(ping(Result::failed), Next::close);
  EXPECT_FALSE(s.contains(1));
  EXPECT_FALSE(s.next_due());
}

TEST(PingSchedule, ARemoteWithoutPingIsLeftAlone) {
  Schedule s(10s);
  s.add(1, t0);
  ASSERT_EQ(s.take_due(t0 + 10s).size(), 1u);
  EXPECT_EQ(s.finish(1, Result::not_supported, t0 + 10s), Next::stop);
  EXPECT_FALSE(s.contains(1));
  EXPECT_TRUE(s.take_due(t0 + 1h).empty());
}

}  // namespace
}  // namespace mp::ping

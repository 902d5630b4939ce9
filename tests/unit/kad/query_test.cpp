#include "kad/query.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.hpp"

namespace mp::kad {
namespace {

using test::random_peer;
using test::t0;
using Kind = ClosestPeersQuery::Action::Kind;
using State = ClosestPeersQuery::PeerState;

struct Fixture {
  std::mt19937_64 rng{11};
  PeerId local = random_peer(rng);
  Key target = Key::from_peer(random_peer(rng));

  std::vector<PeerId> peers(std::size_t n) {
    std::vector<PeerId> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(random_peer(rng));
    return v;
  }
  void sort_by_distance(std::vector<PeerId>& v) const {
    std::sort(v.begin(), v.end(), [&](const PeerId& a, const PeerId& b) {
      return Key::from_peer(a).distance(target) < Key::from_peer(b).distance(target);
    });
  }
  // Drains next() until it stops handing out peers.
  static std::vector<PeerId> take(ClosestPeersQuery& q, TimePoint now) {
    std::vector<PeerId> out;
    for (;;) {
      auto a = q.next(now);
      if (a.kind != Kind::kQuery) break;
      out.push_back(*a.peer);
    }
    return out;
  }
};

TEST(ClosestPeersQuery, AsksAtMostAlphaNearestFirst) {
  Fixture f;
  auto seeds = f.peers(10);
  ClosestPeersQuery q(f.target, f.local, seeds, {}, t0());
  auto asked = Fixture::take(q, t0());
  f.sort_by_distance(seeds);
  ASSERT_EQ(asked.size(), 3u);  // alpha
  EXPECT_EQ(asked, std::vector<PeerId>(seeds.begin(), seeds.begin() + 3));
  EXPECT_EQ(q.in_flight(), 3u);
  EXPECT_EQ(q.next(t0()).kind, Kind::kWait);

  // One answer frees one slot.
  q.on_success(asked[0], {}, t0());
  auto more = Fixture::take(q, t0());
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0], seeds[3]);
}

TEST(ClosestPeersQuery, NeverQueriesOrReturnsTheLocalPeer) {
  Fixture f;
  std::vector<PeerId> seeds = {f.local};
  ClosestPeersQuery q(f.target, f.local, seeds, {}, t0());
  EXPECT_EQ(q.next(t0()).kind, Kind::kDone);
  EXPECT_TRUE(q.result().empty());
}

TEST(ClosestPeersQuery, FollowsCloserPeersAndFinishesWithTheKClosestThatAnswered) {
  Fixture f;
  QueryConfig c;
  c.k = 4;
  auto far = f.peers(3);
  auto learned = f.peers(40);
  f.sort_by_distance(learned);
  ClosestPeersQuery q(f.target, f.local, far, c, t0());
  auto asked = Fixture::take(q, t0());
  ASSERT_EQ(asked.size(), 3u);
  // The first answers with everything it knows; the others with nothing.
  q.on_success(asked[0], learned, t0());
  q.on_success(asked[1], {}, t0());
  q.on_success(asked[2], {}, t0());
  std::vector<PeerId> all_asked = asked;
  for (int round = 0; round < 100 && !q.finished(); ++round) {
    auto batch = Fixture::take(q, t0());
    for (const auto& p : batch) {
      all_asked.push_back(p);
      q.on_success(p, {}, t0());
    }
  }
  ASSERT_TRUE(q.finished());
  // Result: the 4 nearest of everything seen, all of them answered.
  std::vector<PeerId> everyone = learned;
  everyone.insert(everyone.end(), far.begin(), far.end());
  f.sort_by_distance(everyone);
  EXPECT_EQ(q.result(), std::vector<PeerId>(everyone.begin(), everyone.begin() + 4));
  // It stopped early: far fewer than all 43 peers were asked.
  EXPECT_LT(all_asked.size(), 12u);
}

TEST(ClosestPeersQuery, FailuresAreSkippedAndReplaced) {
  Fixture f;
  QueryConfig c;
  c.k = 2;
  auto seeds = f.peers(5);
  f.sort_by_distance(seeds);
  ClosestPeersQuery q(f.target, f.local, seeds, c, t0());
  auto asked = Fixture::take(q, t0());
  ASSERT_EQ(asked.size(), 3u);
  q.on_failure(seeds[0], t0());
  EXPECT_EQ(q.state_of(seeds[0]), State::kFailed);
  auto next = Fixture::take(q, t0());
  ASSERT_EQ(next, std::vector<PeerId>{seeds[3]});
  q.on_success(seeds[1], {}, t0());
  q.on_success(seeds[2], {}, t0());
  // k = 2 nearest non-failed have answered; seeds[3] still in flight is
  // farther than both, so we are done.
  EXPECT_EQ(q.next(t0()).kind, Kind::kDone);
  EXPECT_EQ(q.result(), (std::vector<PeerId>{seeds[1], seeds[2]}));
}

TEST(ClosestPeersQuery, WaitsForANearerPeerStillInFlight) {
  Fixture f;
  QueryConfig c;
  c.k = 2;
  auto seeds = f.peers(3);
  f.sort_by_distance(seeds);
  ClosestPeersQuery q(f.target, f.local, seeds, c, t0());
  ASSERT_EQ(Fixture::take(q, t0()).size(), 3u);
  q.on_success(seeds[1], {}, t0());
  q.on_success(seeds[2], {}, t0());
  // seeds[0] is the nearest and has not answered yet.
  EXPECT_EQ(q.next(t0()).kind, Kind::kWait);
  q.on_success(seeds[0], {}, t0());
  EXPECT_EQ(q.next(t0()).kind, Kind::kDone);
  EXPECT_EQ(q.result(), (std::vector<PeerId>{seeds[0], seeds[1]}));
}

TEST(ClosestPeersQuery, RequestTimeoutsFreeSlotsAndLateAnswersStillCount) {
  Fixture f;
  QueryConfig c;
  c.k = 3;
  c.request_timeout = std::chrono::seconds(10);
  auto seeds = f.peers(6);
  f.sort_by_distance(seeds);
  ClosestPeersQuery q(f.target, f.local, seeds, c, t0());
  ASSERT_EQ(Fixture::take(q, t0()).size(), 3u);
  EXPECT_EQ(q.deadline(), t0() + std::chrono::seconds(10));
  // Before the timeout: still waiting.
  EXPECT_EQ(q.next(t0() + std::chrono::seconds(9)).kind, Kind::kWait);
  // After: the three are unresponsive and three new peers are asked.
  const TimePoint later = t0() + std::chrono::seconds(10);
  auto next = Fixture::take(q, later);
  EXPECT_EQ(next, (std::vector<PeerId>{seeds[3], seeds[4], seeds[5]}));
  EXPECT_EQ(q.state_of(seeds[0]), State::kUnresponsive);
  // A late answer from seeds[0] is taken.
  q.on_success(seeds[0], {}, later);
  EXPECT_EQ(q.state_of(seeds[0]), State::kSucceeded);
  q.on_success(seeds[3], {}, later);
  q.on_success(seeds[4], {}, later);
  EXPECT_EQ(q.next(later).kind, Kind::kDone);
  EXPECT_EQ(q.result(), (std::vector<PeerId>{seeds[0], seeds[3], seeds[4]}));
}

TEST(ClosestPeersQuery, WholeQueryTimesOut) {
  Fixture f;
  QueryConfig c;
  c.query_timeout = std::chrono::seconds(60);
  c.request_timeout = std::chrono::seconds(100);
  auto seeds = f.peers(4);
  ClosestPeersQuery q(f.target, f.local, seeds, c, t0());
  ASSERT_EQ(Fixture::take(q, t0()).size(), 3u);
  EXPECT_EQ(q.deadline(), t0() + std::chrono::seconds(60));
  EXPECT_EQ(q.next(t0() + std::chrono::seconds(59)).kind, Kind::kWait);
  EXPECT_EQ(q.next(t0() + std::chrono::seconds(60)).kind, Kind::kDone);
  EXPECT_TRUE(q.finished());
  EXPECT_FALSE(q.deadline().has_value());
  // Answers after the end change nothing.
  q.on_success(seeds[0], {}, t0() + std::chrono::seconds(61));
  EXPECT_TRUE(q.result().empty());
}

TEST(ClosestPeersQuery, EndsWhenEveryoneFailedOrOnFinish) {
  Fixture f;
  auto seeds = f.peers(2);
  ClosestPeersQuery q(f.target, f.local, seeds, {}, t0());
  auto asked = Fixture::take(q, t0());
  ASSERT_EQ(asked.size(), 2u);
  q.on_failure(asked[0], t0());
  q.on_failure(asked[1], t0());
  EXPECT_EQ(q.next(t0()).kind, Kind::kDone);
  EXPECT_TRUE(q.result().empty());

  ClosestPeersQuery q2(f.target, f.local, f.peers(10), {}, t0());
  auto a2 = Fixture::take(q2, t0());
  q2.on_success(a2[0], {}, t0());
  q2.finish();  // e.g. GET_VALUE found its record
  EXPECT_EQ(q2.next(t0()).kind, Kind::kDone);
  EXPECT_EQ(q2.result(), std::vector<PeerId>{a2[0]});
}

TEST(ClosestPeersQuery, IgnoresUnsolicitedAnswersAndBoundsCandidates) {
  Fixture f;
  QueryConfig c;
  c.max_candidates = 30;
  auto seeds = f.peers(1);
  ClosestPeersQuery q(f.target, f.local, seeds, c, t0());
  auto asked = Fixture::take(q, t0());
  const PeerId stranger = random_peer(f.rng);
  q.on_success(stranger, f.peers(5), t0());  // never asked: ignored
  EXPECT_FALSE(q.state_of(stranger).has_value());
  auto flood = f.peers(500);
  q.on_success(asked[0], flood, t0());
  // Only the nearest 29 newcomers are kept (30 minus the answered seed).
  f.sort_by_distance(flood);
  EXPECT_TRUE(q.state_of(flood[0]).has_value());
  EXPECT_TRUE(q.state_of(flood[28]).has_value());
  EXPECT_FALSE(q.state_of(flood[29]).has_value());
}

}  // namespace
}  // namespace mp::kad

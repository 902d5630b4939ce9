// The pure rules of fleet mode: who is alive, the addrs column, the pull cursor.
#include <gtest/gtest.h>

#include "fleet/membership.hpp"
#include "test_util.hpp"

namespace mp::fleet {
namespace {

using namespace std::chrono_literals;

Member member(std::string id, std::int64_t heartbeat_ms) {
  Member m;
  m.peer_id = std::move(id);
  m.heartbeat_ms = heartbeat_ms;
  return m;
}

TEST(FleetMembership, AMemberSilentForMoreThanThreeIntervalsIsGone) {
  const std::int64_t now = 1'000'000;
  EXPECT_TRUE(is_alive(member("a", now), now, 5s));
  EXPECT_TRUE(is_alive(member("a", now - 15'000), now, 5s));   // exactly 3 intervals
  EXPECT_FALSE(is_alive(member("a", now - 15'001), now, 5s));  // just past
  EXPECT_TRUE(is_alive(member("a", now + 500), now, 5s));      // a heartbeat just after "now"
}

TEST(FleetMembership, AliveMembersAreFilteredAndSortedByPeerId) {
  const std::int64_t now = 50'000;
  auto alive = alive_members({member("c", now), member("gone", 1), member("a", now - 1'000)}, now, 1s);
  ASSERT_EQ(alive.size(), 2u);
  EXPECT_EQ(alive[0].peer_id, "a");
  EXPECT_EQ(alive[1].peer_id, "c");
}

TEST(FleetMembership, AddrsRoundTripAndAreBounded) {
  const std::vector<std::string> addrs{"/ip4/10.0.0.1/tcp/4001/p2p/X", "/ip6/::1/udp/4001/quic-v1/p2p/X"};
  EXPECT_EQ(join_addrs(addrs), "/ip4/10.0.0.1/tcp/4001/p2p/X /ip6/::1/udp/4001/quic-v1/p2p/X");
  EXPECT_EQ(split_addrs(join_addrs(addrs)), addrs);
  EXPECT_EQ(join_addrs({"", "a b", "/x"}), "/x");  // nothing that would split wrongly
  EXPECT_TRUE(split_addrs("").empty());
  EXPECT_EQ(split_addrs("  /a  /b ").size(), 2u);
  std::string many;
  for (int i = 0; i < 100; ++i) many += "/ip4/1.2.3.4/tcp/" + std::to_string(i) + " ";
  EXPECT_EQ(split_addrs(many).size(), kMaxMemberAddrs);
}

TEST(FleetPullWindow, NewRowsMoveTheFrontierAndAFullBatchSaysMoreMayWait) {
  PullWindow w(3);
  EXPECT_FALSE(w.started());
  w.start_at(10);
  EXPECT_TRUE(w.started());
  EXPECT_EQ(w.frontier(), 10);
  EXPECT_EQ(w.low(), 10);
  EXPECT_FALSE(w.take(9));  // before the start: loaded at start, not news
  EXPECT_TRUE(w.take(12));
  EXPECT_TRUE(w.take(15));
  EXPECT_FALSE(w.take(15));  // read again: delivered once
  EXPECT_EQ(w.frontier(), 15);
  EXPECT_TRUE(w.full(3));
  EXPECT_FALSE(w.full(2));
}

TEST(FleetPullWindow, ASeqThatCommitsLateIsDeliveredFromTheWindowOnce) {
  PullWindow w(100);
  w.start_at(0);
  // Pull 1 (id 502, xmin 500: transaction 500 holding seq 1 is still open) sees seq 2.
  EXPECT_TRUE(w.take(2));
  w.finish_pull(502, 500);
  EXPECT_EQ(w.low(), 0);  // the window (0, 2] stays open
  // Pull 2 (500 committed; xmin 503): the window is read again.
  EXPECT_TRUE(w.take(1));   // the late row
  EXPECT_FALSE(w.take(2));  // already delivered
  w.finish_pull(503, 503);
  EXPECT_EQ(w.low(), 2);  // every writer of pull 1's seqs is over
  EXPECT_EQ(w.window_seqs(), 0u);
  EXPECT_EQ(w.cuts(), 0u);
}

TEST(FleetPullWindow, StartingBehindDeliversOnlyWhatTheFirstSnapshotDidNotSee) {
  PullWindow w(100, /*max_window=*/50);
  // First connect: MAX(change_seq) 100; the snapshot (id 900, xmin 895)
  // sees 98, 100 and 30 (below the window: ignored); 99 is still being written.
  w.start_behind(100, {30, 98, 100}, 900, 895);
  EXPECT_EQ(w.frontier(), 100);
  EXPECT_EQ(w.low(), 50);
  EXPECT_FALSE(w.take(98));   // loaded at start
  EXPECT_FALSE(w.take(100));  // loaded at start
  EXPECT_FALSE(w.take(40));   // older than the window: loaded at start
  EXPECT_TRUE(w.take(99));    // committed after the first snapshot: news
  EXPECT_FALSE(w.take(99));   // once
  w.finish_pull(905, 901);    // every writer the first snapshot saw is over
  EXPECT_EQ(w.low(), 100);
  EXPECT_EQ(w.window_seqs(), 0u);
  EXPECT_EQ(w.cuts(), 0u);
}

TEST(FleetPullWindow, StartingBehindAnEmptyTableOpensNoWindow) {
  PullWindow w(100);
  w.start_behind(0, {}, 7, 7);
  EXPECT_EQ(w.low(), 0);
  EXPECT_EQ(w.frontier(), 0);
  EXPECT_TRUE(w.take(1));
}

TEST(FleetPullWindow, TheWindowClosesOnlyOnceThePullsWritersAreOver) {
  PullWindow w(100);
  w.start_at(0);
  w.take(5);
  w.finish_pull(10, 8);  // pull A: id 10
  w.take(9);
  w.finish_pull(20, 10);  // xmin 10: pull A's id 10 is not below it yet
  EXPECT_EQ(w.low(), 0);
  w.finish_pull(30, 11);  // 10 < 11: A's frontier is final, B's (id 20) not yet
  EXPECT_EQ(w.low(), 5);
  EXPECT_FALSE(w.take(5));
  EXPECT_TRUE(w.take(7));  // still in the window: a late row is news
  w.finish_pull(40, 21);
  EXPECT_EQ(w.low(), 9);
}

TEST(FleetPullWindow, AnOpenTransactionCannotHoldTheWindowOpenForEver) {
  PullWindow w(100, /*max_window=*/50);
  w.start_at(0);
  for (std::int64_t seq = 1; seq <= 200; ++seq) {
    w.take(seq);
    w.finish_pull(static_cast<std::uint64_t>(1'000 + seq), 7);  // xmin stuck at 7
    ASSERT_LE(w.frontier() - w.low(), 50);
    ASSERT_LE(w.window_seqs(), 50u);
  }
  EXPECT_GT(w.cuts(), 0u);
  for (int i = 0; i < 1'000; ++i) w.finish_pull(5'000, 7);  // pulls with nothing new
  EXPECT_LE(w.window_seqs(), 50u);
}

KeyBytes key(std::uint8_t first, std::uint8_t last = 0) {
  KeyBytes k{};
  k[0] = first;
  k[31] = last;
  return k;
}

TEST(FleetSharding, TheXorClosestMemberOwnsAPeerAndAGoneMembersShareMoves) {
  const std::vector<KeyBytes> three{key(0x00), key(0x80), key(0xC0)};
  EXPECT_EQ(shard_owner(key(0x01), three), 0u);
  EXPECT_EQ(shard_owner(key(0x90), three), 1u);  // 0x90^0x80 = 0x10 < 0x90^0xC0 = 0x50
  EXPECT_EQ(shard_owner(key(0xF0), three), 2u);
  EXPECT_EQ(shard_owner(key(0xC0, 7), three), 2u);  // ties broken by the low bytes
  // Member 0x80 goes away: its peer 0x90 moves to 0xC0 (0x50 < 0x90).
  const std::vector<KeyBytes> two{key(0x00), key(0xC0)};
  EXPECT_EQ(shard_owner(key(0x90), two), 1u);
  EXPECT_EQ(shard_owner(key(0x01), two), 0u);  // the others' shares stay put
  EXPECT_EQ(shard_owner(key(0x01), {}), 0u);   // nobody: members.size()
}

TEST(FleetSharding, EveryPeerHasExactlyOneOwnerAndTheSharesAreBalanced) {
  std::vector<KeyBytes> members;
  for (std::uint8_t m : {0x11, 0x5A, 0xA7, 0xE3}) members.push_back(key(m, m));
  std::vector<int> counts(members.size(), 0);
  for (int p = 0; p < 256; ++p) {
    const std::size_t owner = shard_owner(key(static_cast<std::uint8_t>(p), 1), members);
    ASSERT_LT(owner, members.size());
    ++counts[owner];
  }
  for (int c : counts) EXPECT_GT(c, 0);
  EXPECT_EQ(counts[0] + counts[1] + counts[2] + counts[3], 256);
}

TEST(FleetSharding, AloneOrUnlistedAMemberVerifiesEveryPeer) {
  using storage::test::test_peer;
  VerificationShard shard(test_peer(1));
  for (std::uint64_t p = 100; p < 120; ++p) EXPECT_TRUE(shard.owns(test_peer(p)));  // no members yet
  shard.set_members({test_peer(1).to_base58()});
  EXPECT_EQ(shard.sharing(), 1u);
  for (std::uint64_t p = 100; p < 120; ++p) EXPECT_TRUE(shard.owns(test_peer(p)));
  // The fleet lists others but not us (our heartbeat is not in yet): all ours.
  shard.set_members({test_peer(2).to_base58(), test_peer(3).to_base58(), "not a peer id"});
  EXPECT_EQ(shard.sharing(), 1u);
  for (std::uint64_t p = 100; p < 120; ++p) EXPECT_TRUE(shard.owns(test_peer(p)));
}

TEST(FleetSharding, MembersSplitThePeersAndAGoneMembersShareGoesToTheSurvivors) {
  using storage::test::test_peer;
  const std::vector<std::string> three{test_peer(1).to_base58(), test_peer(2).to_base58(),
                                       test_peer(3).to_base58()};
  std::vector<VerificationShard> shards;
  for (std::uint64_t m = 1; m <= 3; ++m) {
    shards.emplace_back(test_peer(m));
    shards.back().set_members(three);
    EXPECT_EQ(shards.back().sharing(), 3u);
  }
  std::vector<int> owned(3, 0);
  std::vector<std::size_t> owner;
  for (std::uint64_t p = 1'000; p < 1'300; ++p) {
    int owners = 0;
    for (std::size_t m = 0; m < 3; ++m) {
      if (shards[m].owns(test_peer(p))) {
        ++owners;
        ++owned[m];
        owner.push_back(m);
      }
    }
    ASSERT_EQ(owners, 1) << "peer " << p;  // each dialled once
  }
  for (int n : owned) EXPECT_GT(n, 40);  // 300 peers, roughly a third each
  // Member 2 (index 1) is gone: the survivors split all, and keep what they had.
  const std::vector<std::string> two{three[0], three[2]};
  shards[0].set_members(two);
  shards[2].set_members(two);
  int moved = 0;
  for (std::uint64_t p = 1'000; p < 1'300; ++p) {
    const bool a = shards[0].owns(test_peer(p)), c = shards[2].owns(test_peer(p));
    ASSERT_NE(a, c) << "peer " << p;
    const std::size_t before = owner[p - 1'000];
    if (before == 0) {
      EXPECT_TRUE(a);
    } else if (before == 2) {
      EXPECT_TRUE(c);
    } else {
      ++moved;
    }
  }
  EXPECT_EQ(moved, owned[1]);
}

}  // namespace
}  // namespace mp::fleet

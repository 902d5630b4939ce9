// The pure rules of fleet mode: who is alive, the addrs column, the pull cursor.
#include <gtest/gtest.h>

#include "fleet/membership.hpp"

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

TEST(FleetMembership, TheCursorFollowsChangeSeqAndSaysWhenABatchWasFull) {
  PullCursor c(3);
  EXPECT_FALSE(c.started());
  c.start_at(10);
  EXPECT_TRUE(c.started());
  EXPECT_EQ(c.after(), 10);
  EXPECT_TRUE(c.advance(3, 15));  // full: more may wait
  EXPECT_EQ(c.after(), 15);
  EXPECT_FALSE(c.advance(1, 16));
  EXPECT_EQ(c.after(), 16);
  EXPECT_FALSE(c.advance(0, 0));  // nothing new: unchanged
  EXPECT_EQ(c.after(), 16);
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

}  // namespace
}  // namespace mp::fleet

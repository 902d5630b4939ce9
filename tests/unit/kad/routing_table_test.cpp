#include "kad/routing_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.hpp"

namespace mp::kad {
namespace {

using test::addr;
using test::public_addr;
using test::random_peer;
using test::t0;

RoutingTableConfig no_diversity() {
  RoutingTableConfig c;
  c.diversity.enabled = false;
  return c;
}

// Peers whose key falls into `bucket` of `table`.
std::vector<PeerId> peers_in_bucket(const RoutingTable& table, std::size_t bucket, std::size_t n,
                                    std::mt19937_64& rng) {
  std::vector<PeerId> out;
  while (out.size() < n) {
    PeerId p = random_peer(rng);
    if (table.bucket_index(Key::from_peer(p)) == bucket) out.push_back(p);
  }
  return out;
}

TEST(RoutingTable, InsertsFindsAndUpdates) {
  std::mt19937_64 rng(1);
  RoutingTable t(random_peer(rng), no_diversity(), t0());
  const PeerId p = random_peer(rng);
  auto r = t.update(p, {public_addr(1)}, true, t0());
  EXPECT_EQ(r.outcome, UpdateOutcome::kInserted);
  EXPECT_EQ(t.size(), 1u);
  ASSERT_NE(t.find(p), nullptr);
  EXPECT_EQ(t.find(p)->addrs, std::vector<Multiaddr>{public_addr(1)});

  r = t.update(p, {public_addr(2)}, true, t0() + std::chrono::seconds(5));
  EXPECT_EQ(r.outcome, UpdateOutcome::kUpdated);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find(p)->addrs, std::vector<Multiaddr>{public_addr(2)});
  EXPECT_EQ(t.find(p)->last_seen, t0() + std::chrono::seconds(5));

  EXPECT_TRUE(t.remove(p));
  EXPECT_FALSE(t.contains(p));
  EXPECT_EQ(t.size(), 0u);
}

TEST(RoutingTable, RefusesSelfPeersWithoutAddressesAndClientsUnderServersPolicy) {
  std::mt19937_64 rng(2);
  const PeerId self = random_peer(rng);
  RoutingTable t(self, no_diversity(), t0());
  EXPECT_EQ(t.update(self, {public_addr(1)}, true, t0()).outcome, UpdateOutcome::kIgnoredSelf);
  EXPECT_EQ(t.update(random_peer(rng), {}, true, t0()).outcome,
            UpdateOutcome::kRejectedNoAddresses);
  EXPECT_EQ(t.update(random_peer(rng), {public_addr(2)}, false, t0()).outcome,
            UpdateOutcome::kRejectedNotServer);

  // A server that stops advertising kad is dropped.
  const PeerId p = random_peer(rng);
  ASSERT_EQ(t.update(p, {public_addr(3)}, true, t0()).outcome, UpdateOutcome::kInserted);
  EXPECT_EQ(t.update(p, {public_addr(3)}, false, t0()).outcome, UpdateOutcome::kRejectedNotServer);
  EXPECT_FALSE(t.contains(p));

  // Policy "all" admits clients.
  RoutingTableConfig all = no_diversity();
  all.policy = InsertPolicy::kAll;
  RoutingTable t2(self, all, t0());
  EXPECT_EQ(t2.update(random_peer(rng), {public_addr(2)}, false, t0()).outcome,
            UpdateOutcome::kInserted);
}

TEST(RoutingTable, PrivateAddressesAreDroppedUnlessAllowed) {
  std::mt19937_64 rng(3);
  const PeerId self = random_peer(rng);
  const std::vector<Multiaddr> local_only = {addr("/ip4/127.0.0.1/tcp/4001"),
                                             addr("/ip4/192.168.1.5/tcp/4001"),
                                             addr("/ip4/10.0.0.1/tcp/4001"),
                                             addr("/ip4/169.254.3.4/tcp/4001"),
                                             addr("/ip6/::1/tcp/4001"),
                                             addr("/ip6/fe80::1/tcp/4001")};
  RoutingTable strict(self, no_diversity(), t0());
  EXPECT_EQ(strict.update(random_peer(rng), local_only, true, t0()).outcome,
            UpdateOutcome::kRejectedNoAddresses);

  // Mixed: only the public address and the relay address via a public relay stay.
  const PeerId relay = random_peer(rng);
  const Multiaddr circuit =
      addr("/ip4/20.1.2.3/tcp/4001/p2p/" + relay.to_base58() + "/p2p-circuit");
  const PeerId p = random_peer(rng);
  auto mixed = local_only;
  mixed.push_back(public_addr(9));
  mixed.push_back(circuit);
  ASSERT_EQ(strict.update(p, mixed, true, t0()).outcome, UpdateOutcome::kInserted);
  EXPECT_EQ(strict.find(p)->addrs, (std::vector<Multiaddr>{public_addr(9), circuit}));

  RoutingTableConfig lax = no_diversity();
  lax.addresses.allow_private_addrs = true;
  RoutingTable open(self, lax, t0());
  const PeerId q = random_peer(rng);
  EXPECT_EQ(open.update(q, local_only, true, t0()).outcome, UpdateOutcome::kInserted);
  EXPECT_EQ(open.find(q)->addrs.size(), local_only.size());
}

TEST(RoutingTable, FullBucketAsksToPingTheLeastRecentlySeen) {
  std::mt19937_64 rng(4);
  RoutingTable t(random_peer(rng), no_diversity(), t0());
  auto peers = peers_in_bucket(t, 255, 23, rng);
  for (std::size_t i = 0; i < 20; ++i) {
    ASSERT_EQ(t.update(peers[i], {public_addr(static_cast<std::uint32_t>(i))}, true,
                       t0() + std::chrono::seconds(static_cast<int>(i)))
                  .outcome,
              UpdateOutcome::kInserted);
  }
  EXPECT_EQ(t.bucket(255).entries().size(), 20u);

  const TimePoint now = t0() + std::chrono::minutes(1);
  auto r = t.update(peers[20], {public_addr(20)}, true, now);
  ASSERT_EQ(r.outcome, UpdateOutcome::kPending);
  ASSERT_TRUE(r.pending.has_value());
  EXPECT_EQ(r.pending->ping, peers[0]);  // least recently seen
  EXPECT_EQ(r.pending->candidate, peers[20]);
  EXPECT_FALSE(t.contains(peers[20]));
  // One check per bucket at a time: a third peer is dropped meanwhile.
  EXPECT_EQ(t.update(peers[21], {public_addr(21)}, true, now).outcome, UpdateOutcome::kBucketFull);

  // The old peer answers the ping: it stays, becomes most recently seen.
  t.resolve_pending(peers[0], true, now);
  EXPECT_TRUE(t.contains(peers[0]));
  EXPECT_FALSE(t.contains(peers[20]));
  EXPECT_EQ(t.bucket(255).entries().back().id, peers[0]);
  EXPECT_EQ(t.bucket(255).entries().front().id, peers[1]);

  // Next candidate: peers[1] is now the one to ping; it fails and is replaced.
  r = t.update(peers[21], {public_addr(21)}, true, now);
  ASSERT_EQ(r.outcome, UpdateOutcome::kPending);
  EXPECT_EQ(r.pending->ping, peers[1]);
  t.resolve_pending(peers[1], false, now);
  EXPECT_FALSE(t.contains(peers[1]));
  EXPECT_TRUE(t.contains(peers[21]));
  EXPECT_EQ(t.bucket(255).entries().size(), 20u);
  EXPECT_EQ(t.counters().evicted, 1u);
  // A stale answer for a check no longer pending changes nothing.
  t.resolve_pending(peers[2], false, now);
  EXPECT_TRUE(t.contains(peers[2]));
}

TEST(RoutingTable, PendingCheckIsAnsweredBySeeingThePeerOrExpires) {
  std::mt19937_64 rng(5);
  RoutingTable t(random_peer(rng), no_diversity(), t0());
  auto peers = peers_in_bucket(t, 255, 23, rng);
  for (std::size_t i = 0; i < 20; ++i) {
    ASSERT_EQ(t.update(peers[i], {public_addr(static_cast<std::uint32_t>(i))}, true, t0()).outcome,
              UpdateOutcome::kInserted);
  }
  auto r = t.update(peers[20], {public_addr(20)}, true, t0());
  ASSERT_EQ(r.outcome, UpdateOutcome::kPending);
  // The peer to ping shows up by itself: alive, check over.
  EXPECT_EQ(t.update(peers[0], {public_addr(0)}, true, t0()).outcome, UpdateOutcome::kUpdated);
  EXPECT_FALSE(t.bucket(255).pending().has_value());

  r = t.update(peers[21], {public_addr(21)}, true, t0());
  ASSERT_EQ(r.outcome, UpdateOutcome::kPending);
  // The host never answers: after pending_timeout the old peer is kept and
  // a new candidate may start a new check.
  const TimePoint later = t0() + t.config().pending_timeout;
  r = t.update(peers[22], {public_addr(22)}, true, later);
  ASSERT_EQ(r.outcome, UpdateOutcome::kPending);
  EXPECT_EQ(r.pending->candidate, peers[22]);
  EXPECT_TRUE(t.contains(r.pending->ping));
}

TEST(RoutingTable, RemovingFromAFullBucketAdmitsTheWaitingCandidate) {
  std::mt19937_64 rng(6);
  RoutingTable t(random_peer(rng), no_diversity(), t0());
  auto peers = peers_in_bucket(t, 255, 21, rng);
  for (std::size_t i = 0; i < 20; ++i) {
    ASSERT_EQ(t.update(peers[i], {public_addr(static_cast<std::uint32_t>(i))}, true, t0()).outcome,
              UpdateOutcome::kInserted);
  }
  ASSERT_EQ(t.update(peers[20], {public_addr(20)}, true, t0()).outcome, UpdateOutcome::kPending);
  EXPECT_TRUE(t.remove(peers[7]));
  EXPECT_TRUE(t.contains(peers[20]));
  EXPECT_EQ(t.bucket(255).entries().size(), 20u);
}

TEST(RoutingTable, ClosestMatchesBruteForce) {
  std::mt19937_64 rng(7);
  RoutingTable t(random_peer(rng), no_diversity(), t0());
  std::vector<PeerId> all;
  for (int i = 0; i < 3000; ++i) {
    PeerId p = random_peer(rng);
    if (t.update(p, {public_addr(static_cast<std::uint32_t>(i))}, true, t0()).outcome ==
        UpdateOutcome::kInserted) {
      all.push_back(p);
    }
  }
  ASSERT_EQ(all.size(), t.size());
  ASSERT_GT(all.size(), 100u);  // buckets 255..~247 full, the rest sparse

  std::vector<Key> targets;
  for (int i = 0; i < 200; ++i) targets.push_back(Key::from_peer(random_peer(rng)));
  targets.push_back(t.local_key());                 // our own key
  targets.push_back(Key::from_peer(all[all.size() / 2]));  // a member
  for (const Key& target : targets) {
    for (std::size_t count : {1u, 5u, 20u, 50u}) {
      auto expected = all;
      std::sort(expected.begin(), expected.end(), [&](const PeerId& a, const PeerId& b) {
        return Key::from_peer(a).distance(target) < Key::from_peer(b).distance(target);
      });
      expected.resize(std::min(count, expected.size()));
      EXPECT_EQ(t.closest_peers(target, count), expected) << target.to_hex() << " " << count;
    }
  }
  // Exclusion: the requester never appears.
  const Key near_member = Key::from_peer(all[3]);
  auto got = t.closest_peers(near_member, 20, &all[3]);
  EXPECT_EQ(std::count(got.begin(), got.end(), all[3]), 0);
  EXPECT_EQ(got.size(), 20u);
}

TEST(RoutingTable, DiversityLimitsPerBucketAndPerTable) {
  std::mt19937_64 rng(8);
  RoutingTableConfig c;  // defaults: 3 per /16 per bucket, 10 per /16 in the table
  RoutingTable t(random_peer(rng), c, t0());
  auto b255 = peers_in_bucket(t, 255, 5, rng);
  // Same /16 (group 42), distinct hosts.
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(t.update(b255[i], {public_addr(42, static_cast<std::uint32_t>(i + 1))}, true, t0())
                  .outcome,
              UpdateOutcome::kInserted);
  }
  EXPECT_EQ(t.update(b255[3], {public_addr(42, 99)}, true, t0()).outcome,
            UpdateOutcome::kRejectedDiversity);
  // Another /16 is fine in the same bucket.
  EXPECT_EQ(t.update(b255[3], {public_addr(43, 1)}, true, t0()).outcome, UpdateOutcome::kInserted);
  // A peer with one good and one crowded address is refused (every group must fit).
  EXPECT_EQ(t.update(b255[4], {public_addr(44, 1), public_addr(42, 7)}, true, t0()).outcome,
            UpdateOutcome::kRejectedDiversity);

  // Table-wide: group 42 can reach 10 across buckets, then no more.
  std::size_t in_group = 3;
  std::uint32_t host = 100;
  for (std::size_t bucket = 254; bucket >= 248 && in_group < 10; --bucket) {
    auto ps = peers_in_bucket(t, bucket, 3, rng);
    for (const auto& p : ps) {
      if (in_group == 10) break;
      ASSERT_EQ(t.update(p, {public_addr(42, host++)}, true, t0()).outcome,
                UpdateOutcome::kInserted);
      ++in_group;
    }
  }
  EXPECT_EQ(t.diversity().count_in_table(ip_groups(std::vector{public_addr(42)})[0]), 10u);
  auto extra = peers_in_bucket(t, 240, 1, rng);
  EXPECT_EQ(t.update(extra[0], {public_addr(42, host++)}, true, t0()).outcome,
            UpdateOutcome::kRejectedDiversity);

  // Removing a peer frees its group slot.
  EXPECT_TRUE(t.remove(b255[0]));
  EXPECT_EQ(t.update(extra[0], {public_addr(42, host++)}, true, t0()).outcome,
            UpdateOutcome::kInserted);
}

TEST(RoutingTable, DiversityGroupsIpv6By32AndSkipsPrivateWhenAllowed) {
  const auto g1 = ip_groups(std::vector{test::addr("/ip6/2a01:4f8:1::1/tcp/1")});
  const auto g2 = ip_groups(std::vector{test::addr("/ip6/2a01:4f8:ffff::2/tcp/1")});
  const auto g3 = ip_groups(std::vector{test::addr("/ip6/2a01:4f9::1/tcp/1")});
  ASSERT_EQ(g1.size(), 1u);
  EXPECT_EQ(g1, g2);  // same /32
  EXPECT_NE(g1, g3);
  EXPECT_EQ(ip_groups(std::vector{public_addr(5, 1), public_addr(5, 2)}).size(), 1u);  // same /16
  EXPECT_TRUE(ip_groups(std::vector{test::addr("/ip4/192.168.0.1/tcp/1")}).empty());

  // With allow_private_addrs, many LAN peers fill a bucket unhindered.
  std::mt19937_64 rng(9);
  RoutingTableConfig c;
  c.addresses.allow_private_addrs = true;
  RoutingTable t(random_peer(rng), c, t0());
  auto ps = peers_in_bucket(t, 255, 15, rng);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    EXPECT_EQ(t.update(ps[i], {test::addr("/ip4/192.168.1." + std::to_string(i + 1) + "/tcp/4001")},
                       true, t0())
                  .outcome,
              UpdateOutcome::kInserted);
  }
}

}  // namespace
}  // namespace mp::kad

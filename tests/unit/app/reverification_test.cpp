// Periodic re-verification without sockets: which routing-table peers a
// round dials (not connected, not seen within the interval, seen longest ago
// first, capped), and the reputations it follows between rounds.
#include "app/reverification.hpp"

#include <gtest/gtest.h>

#include <random>
#include <unordered_set>

#include "kad/routing_table.hpp"
#include "unit/kad/test_util.hpp"

namespace mp::app {
namespace {

using kad::test::public_addr;
using kad::test::random_peer;
using kad::test::t0;
using namespace std::chrono_literals;

struct Table {
  explicit Table(std::size_t n) : rng(7), table(random_peer(rng), kad::RoutingTableConfig{}, t0()) {
    for (std::size_t i = 0; i < n; ++i) {
      PeerId p = random_peer(rng);
      // One /16 group each: the diversity limits admit them all.
      auto r = table.update(p, {public_addr(static_cast<std::uint32_t>(i))}, true, t0());
      if (r.outcome == kad::UpdateOutcome::kInserted) peers.push_back(p);
    }
  }
  std::mt19937_64 rng;
  kad::RoutingTable table;
  std::vector<PeerId> peers;
};

std::vector<PeerId> ids(const std::vector<storage::StoredPeer>& due) {
  std::vector<PeerId> out;
  for (const auto& p : due) out.push_back(p.id);
  return out;
}

const auto kNobodyConnected = [](const PeerId&) { return false; };

TEST(ReverificationBook, PeersNeverSeenAreDueWithTheirTableAddresses) {
  Table t(5);
  ASSERT_EQ(t.peers.size(), 5u);
  ReverificationBook book;
  auto due = book.due(t.table, t0(), 600s, kNobodyConnected, 100);
  ASSERT_EQ(due.size(), 5u);
  for (const auto& p : due) {
    const kad::PeerEntry* e = t.table.find(p.id);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(p.addrs, e->addrs);
    EXPECT_DOUBLE_EQ(p.reputation, storage::kReputationDefault);
  }
}

TEST(ReverificationBook, SeenWithinTheIntervalOrConnectedIsNotDue) {
  Table t(4);
  ASSERT_EQ(t.peers.size(), 4u);
  const PeerId& recent = t.peers[0];
  const PeerId& old = t.peers[1];
  const PeerId& connected = t.peers[2];
  const PeerId& never = t.peers[3];
  ReverificationBook book;
  const auto now = t0() + 1h;
  book.seen(recent, now - 599s);
  book.seen(old, now - 600s);  // exactly one interval ago: due
  book.seen(connected, now - 2h);
  auto due = ids(book.due(
      t.table, now, 600s, [&](const PeerId& p) { return p == connected; }, 100));
  // Never seen first, then seen longest ago.
  EXPECT_EQ(due, (std::vector<PeerId>{never, old}));
}

TEST(ReverificationBook, SeenLongestAgoFirstAndCappedPerRound) {
  Table t(10);
  ASSERT_EQ(t.peers.size(), 10u);
  ReverificationBook book;
  const auto now = t0() + 10h;
  // peers[i] seen i hours ago: the oldest are peers[9], peers[8], ...
  for (std::size_t i = 0; i < t.peers.size(); ++i)
    book.seen(t.peers[i], now - std::chrono::hours(i));
  auto due = ids(book.due(t.table, now, 90min, kNobodyConnected, 3));
  EXPECT_EQ(due, (std::vector<PeerId>{t.peers[9], t.peers[8], t.peers[7]}));
  // Uncapped: every peer seen 2 hours ago or more (peers[2..9]).
  EXPECT_EQ(book.due(t.table, now, 90min, kNobodyConnected, 100).size(), 8u);
}

TEST(ReverificationBook, FollowsTheStoresReputationSteps) {
  Table t(1);
  const PeerId& p = t.peers.at(0);
  ReverificationBook book;
  book.set_reputation(p, 3.0);
  book.record(p, VerificationOutcome::kUnreachable);
  EXPECT_DOUBLE_EQ(book.reputation(p), 2.5);
  // Reached: back to at least the default, a higher one kept.
  book.record(p, VerificationOutcome::kReached);
  EXPECT_DOUBLE_EQ(book.reputation(p), 2.5);
  book.set_reputation(p, 0.5);
  book.record(p, VerificationOutcome::kReached);
  EXPECT_DOUBLE_EQ(book.reputation(p), storage::kReputationDefault);
  // Never below the floor; other outcomes change nothing.
  for (int i = 0; i < 5; ++i) book.record(p, VerificationOutcome::kUnreachable);
  EXPECT_DOUBLE_EQ(book.reputation(p), storage::kReputationFloor);
  book.record(p, VerificationOutcome::kOtherMember);
  book.record(p, VerificationOutcome::kAlreadyConnected);
  book.record(p, VerificationOutcome::kSkipped);
  EXPECT_DOUBLE_EQ(book.reputation(p), storage::kReputationFloor);
  // The round hands the reputation to the tally's removal rule.
  EXPECT_DOUBLE_EQ(book.due(t.table, t0(), 1s, kNobodyConnected, 10).at(0).reputation, 0.0);
}

TEST(ReverificationBook, UnreachablePeerLeavesOnItsSecondFailedRound) {
  // A new peer (1.0) survives one failed round (0.5) and is removed by the
  // next: the warm start's rule, through the book and the tally.
  Table t(1);
  const PeerId& p = t.peers.at(0);
  ReverificationBook book;
  std::vector<bool> removed;
  for (int round = 0; round < 2; ++round) {
    auto due = book.due(t.table, t0(), 600s, kNobodyConnected, 10);
    ASSERT_EQ(due.size(), 1u);
    VerificationTally tally(due.size());
    removed.push_back(tally.record(VerificationOutcome::kUnreachable, due[0].reputation));
    book.record(p, VerificationOutcome::kUnreachable);
  }
  EXPECT_EQ(removed, (std::vector<bool>{false, true}));
}

TEST(ReverificationBook, PruneForgetsPeersThatLeftTheTable) {
  Table t(3);
  ASSERT_EQ(t.peers.size(), 3u);
  ReverificationBook book;
  for (const auto& p : t.peers) book.seen(p, t0());
  std::mt19937_64 rng(99);
  book.record(random_peer(rng),
              VerificationOutcome::kUnreachable);  // a lookup's peer, never in the table
  EXPECT_EQ(book.size(), 4u);
  ASSERT_TRUE(t.table.remove(t.peers[1]));
  book.prune(t.table);
  EXPECT_EQ(book.size(), 2u);
  EXPECT_FALSE(book.last_seen(t.peers[1]).has_value());
  EXPECT_TRUE(book.last_seen(t.peers[0]).has_value());
}

}  // namespace
}  // namespace mp::app

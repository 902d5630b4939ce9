// ResourceBudget from several threads at once, as the network threads
// (Yamux sessions) and the owner thread (QUIC, services) use it: every
// scope's total comes back to zero, and no scope ever passed its limit.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "host/resource_budget.hpp"

namespace mp::host {
namespace {

constexpr int kThreads = 4;
constexpr int kAccountsPerThread = 3;
constexpr int kIterations = 20'000;
const std::array<std::string, 3> kIps = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
const std::array<std::string, 5> kPeers = {"P0", "P1", "P2", "P3", "P4"};

BudgetLimits limits() {
  BudgetLimits l;
  l.node = 64 << 10;
  l.per_ip = 24 << 10;
  l.per_peer = 16 << 10;
  l.per_connection = 8 << 10;
  l.per_stream = 4 << 10;
  return l;
}

// One account as one thread sees it: what that thread reserved on it.
struct Slot {
  std::unique_ptr<ConnectionAccount> account;
  std::string peer;
  std::size_t mine = 0;
};

struct Observed {
  std::size_t max_node = 0;
  std::size_t max_ip = 0;
  std::size_t max_peer = 0;
  std::size_t max_connection = 0;
  std::uint64_t granted = 0;
  std::uint64_t refused = 0;
};

// Reserves or releases a random amount on `a` (of which this thread holds
// `mine`), checking the scopes it can see after each grant.
void step(ResourceBudget& b, ConnectionAccount& a, const std::string& peer, std::size_t& mine,
          std::mt19937& rng, Observed& o) {
  if (mine > 0 && rng() % 2 == 0) {
    const std::size_t n = 1 + rng() % mine;
    a.release(n);
    mine -= n;
    return;
  }
  const std::size_t stream_held = rng() % (5 << 10);
  const std::size_t n = rng() % 3000;
  if (a.reserve(stream_held, n)) {
    ++o.refused;
    return;
  }
  ++o.granted;
  mine += n;
  o.max_node = std::max<std::size_t>(o.max_node, b.node_held_atomic());
  o.max_connection = std::max(o.max_connection, a.held());
  o.max_ip = std::max(o.max_ip, b.ip_held(a.ip()));
  if (!peer.empty()) o.max_peer = std::max(o.max_peer, b.peer_held(peer));
}

TEST(ResourceBudgetThreads, FourThreadsReserveAndReleaseWithinEveryLimit) {
  const auto l = limits();
  auto b = ResourceBudget::create(l);
  // Shared by threads 0 and 1, like a Yamux session's account that a
  // service also reserves on from the owner thread.
  auto shared = b->open_connection(kIps[0]);
  std::array<std::size_t, kThreads> shared_mine{};
  std::array<Observed, kThreads> observed{};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t + 1));
      Observed& o = observed[static_cast<std::size_t>(t)];
      std::array<Slot, kAccountsPerThread> slots;
      auto open = [&](Slot& s, int i) {
        s.account = b->open_connection(kIps[static_cast<std::size_t>(t + i) % kIps.size()]);
        s.peer.clear();
        s.mine = 0;
      };
      for (int i = 0; i < kAccountsPerThread; ++i) open(slots[static_cast<std::size_t>(i)], i);
      const bool shares = t < 2;
      for (int it = 0; it < kIterations; ++it) {
        if (it % 1000 == 100) {
          // The peer becomes known after some bytes are held.
          auto& s = slots[rng() % slots.size()];
          if (s.peer.empty()) {
            s.peer = kPeers[rng() % kPeers.size()];
            s.account->set_peer(s.peer);
          }
          if (shares) shared->set_peer(kPeers[static_cast<std::size_t>(t)]);  // first one wins
        }
        if (it % 2500 == 2499) {
          // A connection closes holding bytes; another opens.
          const auto i = static_cast<int>(rng() % slots.size());
          open(slots[static_cast<std::size_t>(i)], i);
        }
        if (shares && rng() % 3 == 0) {
          step(*b, *shared, {}, shared_mine[static_cast<std::size_t>(t)], rng, o);
        } else {
          auto& s = slots[rng() % slots.size()];
          step(*b, *s.account, s.peer, s.mine, rng, o);
        }
      }
      for (auto& s : slots) s.account->release(s.mine);
    });
  }
  for (auto& th : threads) th.join();

  std::uint64_t granted = 0;
  std::uint64_t refused = 0;
  for (const auto& o : observed) {
    EXPECT_LE(o.max_node, l.node);
    EXPECT_LE(o.max_ip, l.per_ip);
    EXPECT_LE(o.max_peer, l.per_peer);
    EXPECT_LE(o.max_connection, l.per_connection);
    granted += o.granted;
    refused += o.refused;
  }
  // Both outcomes happened: the limits were reached, not just approached.
  EXPECT_GT(granted, 0u);
  EXPECT_GT(refused, 0u);
  std::uint64_t counted = 0;
  for (std::size_t s = 0; s < static_cast<std::size_t>(Scope::kCount); ++s) {
    counted += b->refusals(static_cast<Scope>(s));
  }
  EXPECT_EQ(counted, refused);
  EXPECT_GT(b->refusals(Scope::kConnection) + b->refusals(Scope::kIp) + b->refusals(Scope::kPeer) +
                b->refusals(Scope::kNode),
            0u);

  // The shared account holds what its two threads reserved and did not release.
  EXPECT_EQ(shared->held(), shared_mine[0] + shared_mine[1]);
  EXPECT_FALSE(b->peer_held(kPeers[0]) == 0 && b->peer_held(kPeers[1]) == 0 && shared->held() > 0);
  shared.reset();

  EXPECT_EQ(b->node_held(), 0u);
  EXPECT_EQ(b->node_held_atomic(), 0u);
  for (const auto& ip : kIps) EXPECT_EQ(b->ip_held(ip), 0u) << ip;
  for (const auto& p : kPeers) EXPECT_EQ(b->peer_held(p), 0u) << p;
}

}  // namespace
}  // namespace mp::host

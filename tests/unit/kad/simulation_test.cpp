// A deterministic in-memory Kademlia network: 1,200 nodes, each with its own
// routing table filled from a random subset of the others. Lookups from
// random nodes for random keys, driven by ClosestPeersQuery and answered by
// the remote nodes' routing tables, must find the true k closest peers.
#include <gtest/gtest.h>

#include <algorithm>
#include <unordered_map>

#include "kad/query.hpp"
#include "kad/routing_table.hpp"
#include "test_util.hpp"

namespace mp::kad {
namespace {

using test::random_peer;
using test::t0;

struct Network {
  std::vector<PeerId> ids;
  std::vector<Key> keys;
  std::vector<RoutingTable> tables;
  std::unordered_map<PeerId, std::size_t> index;
};

Network build(std::size_t n, std::size_t known_per_node, std::mt19937_64& rng) {
  Network net;
  for (std::size_t i = 0; i < n; ++i) {
    net.ids.push_back(random_peer(rng));
    net.keys.push_back(Key::from_peer(net.ids.back()));
    net.index.emplace(net.ids.back(), i);
  }
  RoutingTableConfig c;
  c.diversity.enabled = false;
  c.policy = InsertPolicy::kAll;
  net.tables.reserve(n);
  for (std::size_t i = 0; i < n; ++i) net.tables.emplace_back(net.ids[i], c, t0());
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < known_per_node; ++j) {
      const std::size_t other = pick(rng);
      if (other == i) continue;
      (void)net.tables[i].update(net.ids[other],
                                 {test::public_addr(static_cast<std::uint32_t>(other % 15000))},
                                 true, t0());
    }
  }
  return net;
}

struct LookupOutcome {
  std::vector<PeerId> found;
  std::size_t requests = 0;
};

LookupOutcome lookup(const Network& net, std::size_t from, const Key& target,
                     std::mt19937_64& rng) {
  const RoutingTable& start = net.tables[from];
  auto seeds = start.closest_peers(target, kK);
  ClosestPeersQuery q(target, net.ids[from], seeds, {}, t0());
  LookupOutcome out;
  // Answers arrive in a random order among the requests in flight.
  std::vector<PeerId> in_flight;
  TimePoint now = t0();
  while (!q.finished()) {
    for (;;) {
      auto a = q.next(now);
      if (a.kind != ClosestPeersQuery::Action::Kind::kQuery) break;
      in_flight.push_back(*a.peer);
      ++out.requests;
    }
    if (in_flight.empty()) break;
    std::uniform_int_distribution<std::size_t> pick(0, in_flight.size() - 1);
    const std::size_t i = pick(rng);
    const PeerId peer = in_flight[i];
    in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(i));
    const RoutingTable& remote = net.tables[net.index.at(peer)];
    auto closer = remote.closest_peers(target, kK, &net.ids[from]);
    q.on_success(peer, closer, now);
    now += std::chrono::milliseconds(10);
  }
  out.found = q.result();
  return out;
}

std::vector<PeerId> brute_force(const Network& net, std::size_t from, const Key& target) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < net.ids.size(); ++i) {
    if (i != from) order.push_back(i);
  }
  std::partial_sort(order.begin(), order.begin() + kK, order.end(), [&](auto a, auto b) {
    return net.keys[a].distance(target) < net.keys[b].distance(target);
  });
  std::vector<PeerId> out;
  for (std::size_t i = 0; i < kK; ++i) out.push_back(net.ids[order[i]]);
  return out;
}

TEST(KadSimulation, LookupsFindTheTrueKClosestIn1200Nodes) {
  std::mt19937_64 rng(20240601);
  // Each node knows a random 500 of the 1,199 others (its far buckets cap at
  // k, the near ones hold what it saw), standing in for what identify and
  // refresh lookups teach a real node.
  const Network net = build(1200, 500, rng);

  std::size_t exact = 0;
  std::size_t total_requests = 0;
  constexpr std::size_t kLookups = 100;
  std::uniform_int_distribution<std::size_t> pick(0, net.ids.size() - 1);
  for (std::size_t l = 0; l < kLookups; ++l) {
    const std::size_t from = pick(rng);
    std::array<std::uint8_t, 32> raw{};
    for (auto& b : raw) b = static_cast<std::uint8_t>(rng());
    const Key target = Key::from_raw(raw);
    const auto got = lookup(net, from, target, rng);
    const auto want = brute_force(net, from, target);
    total_requests += got.requests;
    ASSERT_FALSE(got.found.empty());
    EXPECT_EQ(got.found.front(), want.front()) << "lookup " << l << " missed the nearest peer";
    if (got.found == want) ++exact;
  }
  EXPECT_GE(exact, kLookups * 95 / 100) << "exact k-closest in " << exact << "/" << kLookups;
  // Sanity: a lookup costs tens of requests, not the whole network.
  EXPECT_LT(total_requests / kLookups, 200u);
  std::printf("[ sim      ] exact %zu/%zu, %.1f requests per lookup\n", exact, kLookups,
              static_cast<double>(total_requests) / kLookups);
}

}  // namespace
}  // namespace mp::kad

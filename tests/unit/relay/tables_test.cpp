// ReservationTable and CircuitTable: the limits and expiry rules, with time
// passed in (no clocks, no sockets).
#include <gtest/gtest.h>

#include "relay/circuit_table.hpp"
#include "relay/reservation_table.hpp"

namespace mp::relay {
namespace {

using namespace std::chrono_literals;
using Clock = ReservationTable::Clock;

PeerId peer(int i) {
  return PeerId::from_public_key(
      Ed25519KeyPair::from_seed_string("peer-" + std::to_string(i)).public_key());
}

RelayLimits small_limits() {
  RelayLimits l;
  l.max_reservations = 3;
  l.max_reservations_per_peer = 2;
  l.max_reservations_per_ip = 2;
  l.max_circuits = 3;
  l.max_circuits_per_peer = 2;
  l.max_circuits_per_ip = 2;
  l.reservation_ttl = 3600s;
  return l;
}

TEST(ReservationTable, AcceptsUntilTotalCapThenRefuses) {
  ReservationTable t(small_limits());
  const auto now = Clock::time_point{} + 1000s;
  EXPECT_EQ(t.reserve(peer(1), "10.0.0.1", 1, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(2), "10.0.0.2", 2, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(3), "10.0.0.3", 3, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(4), "10.0.0.4", 4, now).status, pb::RESERVATION_REFUSED);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.find(peer(4), now));
}

TEST(ReservationTable, RenewalOnSameConnectionTakesNoNewSlot) {
  ReservationTable t(small_limits());
  const auto now = Clock::time_point{} + 1000s;
  auto first = t.reserve(peer(1), "10.0.0.1", 7, now);
  auto again = t.reserve(peer(1), "10.0.0.1", 7, now + 600s);
  EXPECT_EQ(again.status, pb::OK);
  EXPECT_TRUE(again.renewed);
  EXPECT_EQ(again.expires, first.expires + 600s);
  EXPECT_EQ(t.size(), 1u);
  // Still there after the first expiry time, thanks to the renewal.
  EXPECT_TRUE(t.find(peer(1), first.expires + 1s));
}

TEST(ReservationTable, PerPeerAndPerIpCaps) {
  ReservationTable t(small_limits());
  const auto now = Clock::time_point{} + 1000s;
  EXPECT_EQ(t.reserve(peer(1), "10.0.0.1", 1, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(1), "10.0.0.2", 2, now).status,
            pb::OK);  // second connection of the same peer
  EXPECT_EQ(t.reserve(peer(1), "10.0.0.3", 3, now).status, pb::RESERVATION_REFUSED);  // per peer
  EXPECT_EQ(t.reserve(peer(2), "10.0.0.1", 4, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(3), "10.0.0.1", 5, now).status,
            pb::RESERVATION_REFUSED);  // per IP (and total)
  EXPECT_EQ(t.count_for_ip("10.0.0.1"), 2u);
  EXPECT_EQ(t.count_for_peer(peer(1)), 2u);
}

TEST(ReservationTable, ExpiryAndDisconnectFreeSlots) {
  ReservationTable t(small_limits());
  const auto now = Clock::time_point{} + 1000s;
  ASSERT_EQ(t.reserve(peer(1), "10.0.0.1", 1, now).status, pb::OK);
  ASSERT_EQ(t.reserve(peer(2), "10.0.0.2", 2, now + 10s).status, pb::OK);
  EXPECT_TRUE(t.find(peer(1), now + 3599s));
  EXPECT_FALSE(t.find(peer(1), now + 3600s));  // expired even before the sweep
  EXPECT_EQ(t.expire(now + 3600s), 1u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.count_for_ip("10.0.0.1"), 0u);
  EXPECT_TRUE(t.connection_closed(2));
  EXPECT_FALSE(t.connection_closed(2));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.find(peer(2), now));
}

TEST(ReservationTable, FindPrefersNewestConnection) {
  ReservationTable t(small_limits());
  const auto now = Clock::time_point{} + 1000s;
  ASSERT_EQ(t.reserve(peer(1), "10.0.0.1", 11, now).status, pb::OK);
  ASSERT_EQ(t.reserve(peer(1), "10.0.0.1", 12, now).status, pb::OK);
  EXPECT_EQ(t.find(peer(1), now), 12u);
  t.connection_closed(12);
  EXPECT_EQ(t.find(peer(1), now), 11u);
}

TEST(CircuitTable, LimitsTotalPerPeerAndPerIp) {
  CircuitTable t(small_limits());
  const CircuitTable::Circuit a{peer(1), "10.0.0.1", peer(9)};
  EXPECT_EQ(t.open(a), pb::OK);
  EXPECT_EQ(t.open(a), pb::OK);
  // Third from the same initiator: per-peer (and per-IP) cap.
  EXPECT_EQ(t.open(a), pb::RESOURCE_LIMIT_EXCEEDED);
  // Target 9 already has two circuits: refused even from a fresh initiator.
  EXPECT_EQ(t.open({peer(2), "10.0.0.2", peer(9)}), pb::RESOURCE_LIMIT_EXCEEDED);
  // Fresh initiator from the busy IP.
  EXPECT_EQ(t.open({peer(3), "10.0.0.1", peer(8)}), pb::RESOURCE_LIMIT_EXCEEDED);
  EXPECT_EQ(t.open({peer(3), "10.0.0.3", peer(8)}), pb::OK);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.open({peer(4), "10.0.0.4", peer(7)}), pb::RESOURCE_LIMIT_EXCEEDED);  // total
  t.close(a);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.count_for_peer(peer(9)), 1u);
  EXPECT_EQ(t.open({peer(4), "10.0.0.4", peer(7)}), pb::OK);
}

// One carrier's NAT: many addresses in one /24. The per-network cap stops
// it short of the total, while another network still gets in.
TEST(ReservationTable, LimitsPerNetworkAndSaysWhichLimitRefused) {
  RelayLimits l;
  l.max_reservations = 10;
  l.max_reservations_per_peer = 10;
  l.max_reservations_per_ip = 2;
  l.max_reservations_per_subnet = 3;
  ReservationTable t(l);
  const auto now = Clock::time_point{} + 1000s;
  EXPECT_EQ(t.reserve(peer(1), "203.0.113.1", 1, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(2), "203.0.113.1", 2, now).status, pb::OK);
  const auto ip_full = t.reserve(peer(3), "203.0.113.1", 3, now);
  EXPECT_EQ(ip_full.status, pb::RESERVATION_REFUSED);
  EXPECT_EQ(ip_full.limit, LimitHit::kIp);
  EXPECT_EQ(t.reserve(peer(4), "203.0.113.200", 4, now).status, pb::OK);
  const auto net_full = t.reserve(peer(5), "203.0.113.99", 5, now);
  EXPECT_EQ(net_full.status, pb::RESERVATION_REFUSED);
  EXPECT_EQ(net_full.limit, LimitHit::kSubnet);
  EXPECT_EQ(t.count_for_subnet("203.0.113.7"), 3u);
  // Another /24, and an IPv6 /48, are other networks.
  EXPECT_EQ(t.reserve(peer(6), "203.0.114.1", 6, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(7), "2001:db8:1::1", 7, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(8), "2001:db8:1:ff::2", 8, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(9), "2001:db8:1:ee::3", 9, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(10), "2001:db8:1:dd::4", 10, now).limit, LimitHit::kSubnet);
  // A reservation that goes frees its network's slot.
  EXPECT_TRUE(t.connection_closed(4));
  EXPECT_EQ(t.count_for_subnet("203.0.113.7"), 2u);
  EXPECT_EQ(t.reserve(peer(5), "203.0.113.99", 5, now).status, pb::OK);
  // Seven held; three more from fresh networks fill the total of ten, which
  // is then the first limit checked.
  EXPECT_EQ(t.reserve(peer(11), "198.51.100.1", 11, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(12), "198.51.101.1", 12, now).status, pb::OK);
  EXPECT_EQ(t.reserve(peer(13), "198.51.102.1", 13, now).status, pb::OK);
  const auto total = t.reserve(peer(14), "198.51.103.1", 14, now);
  EXPECT_EQ(total.status, pb::RESERVATION_REFUSED);
  EXPECT_EQ(total.limit, LimitHit::kTotal);
}

TEST(CircuitTable, LimitsPerNetworkAndSaysWhichLimitRefused) {
  RelayLimits l;
  l.max_circuits = 10;
  l.max_circuits_per_peer = 10;
  l.max_circuits_per_ip = 10;
  l.max_circuits_per_subnet = 2;
  CircuitTable t(l);
  LimitHit hit = LimitHit::kTotal;
  EXPECT_EQ(t.open({peer(1), "198.51.100.1", peer(9)}, &hit), pb::OK);
  EXPECT_EQ(hit, LimitHit::kNone);
  EXPECT_EQ(t.open({peer(2), "198.51.100.2", peer(9)}), pb::OK);
  EXPECT_EQ(t.open({peer(3), "198.51.100.3", peer(9)}, &hit), pb::RESOURCE_LIMIT_EXCEEDED);
  EXPECT_EQ(hit, LimitHit::kSubnet);
  EXPECT_EQ(t.open({peer(3), "198.51.101.3", peer(9)}, &hit), pb::OK);
  t.close({peer(1), "198.51.100.1", peer(9)});
  EXPECT_EQ(t.open({peer(3), "198.51.100.3", peer(9)}), pb::OK);
}

}  // namespace
}  // namespace mp::relay

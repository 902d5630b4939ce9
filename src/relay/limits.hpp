// The relay's resource limits, from the node configuration (RELAY_* settings).
// Reservations and circuits are capped in total, per peer, per IP and per
// network (IPv4 /24, IPv6 /48, as go-libp2p's relay caps per IP and per ASN):
// one host with many peer ids cannot take many slots, and one carrier's NAT
// (many phones behind few addresses) cannot take every slot.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "relay/protocol.hpp"

namespace mp::relay {

struct RelayLimits {
  std::size_t max_reservations = 100;  // RELAY_MAX_CIRCUITS (the Rust node used it for both)
  std::size_t max_reservations_per_peer = 10;    // RELAY_MAX_PER_PEER
  std::size_t max_reservations_per_ip = 32;      // RELAY_MAX_PER_IP
  std::size_t max_reservations_per_subnet = 64;  // RELAY_MAX_PER_SUBNET
  std::size_t max_circuits = 100;                // RELAY_MAX_CIRCUITS
  std::size_t max_circuits_per_peer = 10;        // RELAY_MAX_PER_PEER, as initiator and as target
  std::size_t max_circuits_per_ip = 32;          // RELAY_MAX_PER_IP, by initiator IP
  std::size_t max_circuits_per_subnet = 64;      // RELAY_MAX_PER_SUBNET, by initiator network
  std::chrono::seconds reservation_ttl{3600};    // the Rust node: 1 hour
  // Sent to both ends as the spec's Limit and enforced by the pipe.
  // The Rust node: 120 s; RELAY_MAX_BYTES_PER_SEC used as the per-circuit budget.
  CircuitLimit circuit{std::chrono::seconds(120), 1'000'000};
};

// Which limit refused a reservation or a circuit (for /metrics).
enum class LimitHit : std::size_t { kNone = 0, kTotal, kPeer, kIp, kSubnet, kCount };
const char* limit_name(LimitHit hit);

// The network key the per-subnet limits count by.
std::string relay_subnet(const std::string& ip);

// Counters keyed by peer, IP or network, as the tables keep them: absent
// means zero, and a key is dropped when it comes back to zero.
template <typename Map, typename Key>
std::size_t count_in(const Map& m, const Key& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}
template <typename Map, typename Key>
void decrement_in(Map& m, const Key& k) {
  auto it = m.find(k);
  if (it != m.end() && --it->second == 0) m.erase(it);
}

}  // namespace mp::relay

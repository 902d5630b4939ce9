// The relay's resource limits, from the node configuration (RELAY_* settings)
// plus per-IP caps that keep one host (many peer ids) from taking the relay.
#pragma once

#include <chrono>
#include <cstddef>

#include "relay/protocol.hpp"

namespace mp::relay {

struct RelayLimits {
  std::size_t max_reservations = 100;          // RELAY_MAX_CIRCUITS (the Rust node used it for both)
  std::size_t max_reservations_per_peer = 10;  // RELAY_MAX_PER_PEER
  std::size_t max_reservations_per_ip = 32;
  std::size_t max_circuits = 100;              // RELAY_MAX_CIRCUITS
  std::size_t max_circuits_per_peer = 10;      // RELAY_MAX_PER_PEER, as initiator and as target
  std::size_t max_circuits_per_ip = 32;        // by initiator IP
  std::chrono::seconds reservation_ttl{3600};  // the Rust node: 1 hour
  // Sent to both ends as the spec's Limit and enforced by the pipe.
  // The Rust node: 120 s; RELAY_MAX_BYTES_PER_SEC used as the per-circuit budget.
  CircuitLimit circuit{std::chrono::seconds(120), 1'000'000};
};

}  // namespace mp::relay

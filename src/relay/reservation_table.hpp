// ReservationTable: the relay's reservations (libp2p/specs relay/circuit-v2.md
// "Reservation"), with their expiry and the limits on how many there may be
// in total, per peer, per IP and per network. Pure state: no I/O, time passed in.
//
// A reservation belongs to the connection it was made on: the spec says it is
// valid "as long as there is an active connection from the peer to the
// relay", so connection_closed() drops it. A RESERVE on a connection that
// already holds one renews it (new expiry, no new slot).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/peer_id.hpp"
#include "relay/limits.hpp"
#include "relay/protocol.hpp"

namespace mp::relay {

class ReservationTable {
 public:
  using Clock = std::chrono::steady_clock;

  struct Outcome {
    Status status = pb::OK;            // OK or RESERVATION_REFUSED
    LimitHit limit = LimitHit::kNone;  // the limit that refused it
    bool renewed = false;
    Clock::time_point expires{};
  };

  explicit ReservationTable(const RelayLimits& limits) : limits_(limits) {}

  Outcome reserve(const PeerId& peer, const std::string& ip, std::uint64_t connection_id,
                  Clock::time_point now);
  // The connection of the peer's newest live reservation, if any.
  std::optional<std::uint64_t> find(const PeerId& peer, Clock::time_point now) const;
  // Drops the reservation held on that connection (if any); true if one was.
  bool connection_closed(std::uint64_t connection_id);
  // Drops expired reservations; returns how many.
  std::size_t expire(Clock::time_point now);
  bool holds(std::uint64_t connection_id) const { return by_connection_.count(connection_id) > 0; }

  std::size_t size() const { return by_connection_.size(); }
  std::size_t count_for_peer(const PeerId& peer) const;
  std::size_t count_for_ip(const std::string& ip) const;
  std::size_t count_for_subnet(const std::string& ip) const;

 private:
  struct Entry {
    PeerId peer;
    std::string ip;
    std::string subnet;
    Clock::time_point expires;
  };
  void erase(std::unordered_map<std::uint64_t, Entry>::iterator it);

  RelayLimits limits_;
  std::unordered_map<std::uint64_t, Entry> by_connection_;
  std::unordered_map<PeerId, std::vector<std::uint64_t>> by_peer_;  // connection ids, oldest first
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<std::string, std::size_t> per_subnet_;
};

}  // namespace mp::relay

// DialFailures: when a routing-table peer that could not be dialled leaves
// the table. Phones go offline and come back, and a bootstrap node's table is
// what every client starts from: one failure is forgiven, the second in a row
// removes the peer; a connection to the peer forgives its failures. (The warm
// start applies the same rule across restarts through the peer store.)
//
// Pure: no I/O, no clock. Bounded by the routing table: only its peers are
// reported (DhtService), and an entry leaves when its peer is removed or
// reached.
#pragma once

#include <cstddef>
#include <unordered_map>

#include "core/peer_id.hpp"

namespace mp::kad {

class DialFailures {
 public:
  // Failures in a row that remove a peer.
  static constexpr int kLimit = 2;

  // A dial of `peer` failed on every address. True when the peer must leave
  // the routing table now (its count is then forgotten).
  bool failed(const PeerId& peer) {
    if (++failures_[peer] < kLimit) return false;
    failures_.erase(peer);
    return true;
  }

  // A connection to `peer` was established: its failures are forgiven.
  void reached(const PeerId& peer) { failures_.erase(peer); }

  // Peers with a failure not yet forgiven.
  std::size_t size() const { return failures_.size(); }

 private:
  std::unordered_map<PeerId, int> failures_;  // consecutive, per peer
};

}  // namespace mp::kad

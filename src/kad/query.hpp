// ClosestPeersQuery: the iterative Kademlia lookup (libp2p/specs
// kad-dht/README.md "Peer routing") as a state machine with no I/O, after
// rust-libp2p's ClosestPeersIter.
//
// The caller asks next(now) what to do, sends FIND_NODE (or GET_VALUE /
// GET_PROVIDERS: the machine only cares about closer peers) to the peer it
// names, and reports on_success(peer, closer_peers) or on_failure(peer).
// Requests that outlive request_timeout stop counting against alpha and are
// treated as failed; a late answer is still taken. The whole query ends after
// query_timeout, or by finish() (the "stop when found" hook for value and
// provider lookups).
//
// Termination (Kademlia): the query is done when the k closest peers it has
// heard of, failed ones left out, have all answered; or when no candidate is
// left to ask. result() is then the (up to) k closest peers that answered,
// nearest first.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "core/peer_id.hpp"
#include "kad/config.hpp"
#include "kad/key.hpp"

namespace mp::kad {

struct QueryConfig {
  std::size_t alpha = kAlpha;
  std::size_t k = kK;  // number of results
  Duration request_timeout = kRequestTimeout;
  Duration query_timeout = kQueryTimeout;
  // Candidates kept (farthest untried ones dropped beyond this): bounds
  // memory against peers that answer with endless fresh IDs.
  std::size_t max_candidates = 10 * kK;
};

class ClosestPeersQuery {
 public:
  enum class PeerState { kNotContacted, kWaiting, kUnresponsive, kSucceeded, kFailed };

  struct Action {
    enum class Kind {
      kQuery,  // send a request to `peer`, then call next() again
      kWait,   // nothing to send now: wait for an answer or until deadline()
      kDone,   // finished: read result()
    };
    Kind kind;
    std::optional<PeerId> peer;
  };

  // `local` is never queried nor returned. `seeds` are typically the
  // routing table's closest peers to the target.
  ClosestPeersQuery(Key target, PeerId local, std::span<const PeerId> seeds, QueryConfig config,
                    TimePoint now);

  // Decides the next step; call repeatedly until it returns kWait or kDone.
  Action next(TimePoint now);
  // The peer answered; `closer` are the peers it returned.
  void on_success(const PeerId& peer, std::span<const PeerId> closer, TimePoint now);
  // The request failed (dial error, reset, malformed answer).
  void on_failure(const PeerId& peer, TimePoint now);
  // Stops the query (e.g. a GET_VALUE lookup found its record).
  void finish() { finished_ = true; }

  bool finished() const { return finished_; }
  // When next() should be called again if nothing arrives (earliest request
  // timeout or the query deadline); nullopt when finished.
  std::optional<TimePoint> deadline() const;
  // Up to k peers that answered, nearest to the target first.
  std::vector<PeerId> result() const;

  const Key& target() const { return target_; }
  std::size_t in_flight() const { return num_waiting_; }
  std::optional<PeerState> state_of(const PeerId& peer) const;

 private:
  struct Candidate {
    PeerId id;
    Distance distance;
    PeerState state = PeerState::kNotContacted;
    TimePoint request_deadline{};
  };

  void add_candidate(const PeerId& peer);
  Candidate* find(const PeerId& peer);

  Key target_;
  PeerId local_;
  QueryConfig config_;
  TimePoint query_deadline_;
  std::vector<Candidate> candidates_;  // sorted by distance, nearest first
  std::size_t num_waiting_ = 0;
  bool finished_ = false;
};

}  // namespace mp::kad

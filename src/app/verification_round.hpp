// VerificationRound: dials a list of routing-table peers, a few at a time,
// to find out which are still reachable, and applies the reputation rule to
// those that are not. Warm start (warm_start.hpp, the stored peers once after
// a restart) and periodic re-verification (reverification.hpp, the
// routing-table peers not seen for REVERIFY_INTERVAL_SECS) are both rounds:
//   - reached: the host's ConnectionEstablished(outbound) event refreshes the
//     row and its reputation (record_dial_success); addresses tried before
//     the one that worked lose reputation;
//   - already connected (it connected to us first): not dialed;
//   - unreachable (every address failed): every address of the peer loses
//     reputation (record_dial_failure). It stays in the routing table unless
//     that failure takes its reputation to the floor (from the default 1.0:
//     1.0 -> 0.5 keeps it, 0.5 -> 0.0 removes it);
//   - fleet mode: a peer that is another alive member's share
//     (fleet::VerificationShard, asked at dial time) is not dialed here.
//
// Why an unreachable peer is not removed at once: a bootstrap node's peers
// are mostly phones and laptops that are offline for minutes or hours and
// come back. Dropping every peer that is offline during one check would
// empty the table. A dead entry costs little meanwhile: clients skip peers
// they cannot dial, Kademlia's own rule replaces it as soon as its bucket
// needs the slot for a live peer (the least-recently-seen entry is pinged
// first), and storage GC forgets rows not seen for PEER_MAX_AGE_SECS. Peers
// with a long record of being reachable (reputation up to 10.0) get
// correspondingly more grace.
//
// Threading: runs on the node's io_context; not thread-safe.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/peer_id.hpp"
#include "storage/peer_store.hpp"

namespace mp::host {
class Host;
}
namespace mp::kad {
class Kademlia;
}

namespace mp::app {

// What happened to one peer of a round.
enum class VerificationOutcome {
  kReached,           // one of its addresses answered
  kAlreadyConnected,  // connected before we dialed: not dialed
  kUnreachable,       // every address failed
  kSkipped,           // left the routing table meanwhile, or the node is stopping
  kOtherMember,       // fleet mode: another alive member's share (not dialed here)
};

struct VerificationReport {
  std::size_t peers = 0;  // in the round
  std::size_t reached = 0;
  std::size_t already_connected = 0;
  std::size_t unreachable = 0;
  std::size_t removed = 0;  // unreachable and taken out of the routing table
  std::size_t skipped = 0;
  std::size_t other_member = 0;  // left to the fleet member that owns them
  bool finished = false;
};

// The rule above: does a peer with best reputation `stored_reputation`
// leave the routing table after one more failed verification dial?
bool leaves_routing_table_when_unreachable(double stored_reputation);

// Tallies outcomes and says what the routing table should do. Pure: no I/O,
// so the rule is tested with plain calls.
class VerificationTally {
 public:
  explicit VerificationTally(std::size_t peers) { report_.peers = peers; }
  // Returns true when the peer must leave the routing table.
  bool record(VerificationOutcome outcome, double stored_reputation);
  void finish() { report_.finished = true; }
  const VerificationReport& report() const { return report_; }

 private:
  VerificationReport report_;
};

class VerificationRound {
 public:
  // `label` starts this round's log lines ("Warm start", "Re-verification").
  // The references must outlive every coroutine run() spawns (in the node:
  // members declared before the owner, on the same io_context).
  VerificationRound(host::Host& host, kad::Kademlia& kad, storage::PeerStore& store,
                    std::size_t concurrency, std::string label);

  // The peers of the next run (best first), while no round is running.
  void set_peers(std::vector<storage::StoredPeer> peers);
  const std::vector<storage::StoredPeer>& peers() const { return peers_; }

  // Dials the peers set_peers() gave, at most `concurrency` at a time, each
  // peer's addresses in order until one works. `on_peer` is called for each
  // peer's outcome, `on_done` once every peer has one (at once when there
  // are none). Not while running().
  void run(asio::any_io_executor executor,
           std::function<void(const storage::StoredPeer&, VerificationOutcome)> on_peer,
           std::function<void(const VerificationReport&)> on_done);
  bool running() const { return running_; }
  // No new dials after this (shutdown); dials in flight finish or fail.
  void stop() { stopping_ = true; }
  // Fleet mode: a peer is dialed only when `owns` says it is this member's
  // share (fleet::VerificationShard), asked at dial time, so a member that
  // went away meanwhile leaves its share to us. Unset: every peer.
  void set_shard_filter(std::function<bool(const PeerId&)> owns) { owns_ = std::move(owns); }

  // The last run's (or the running one's) tally.
  const VerificationReport& report() const { return tally_.report(); }
  // When the last run started.
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }

 private:
  asio::awaitable<void> worker();
  asio::awaitable<VerificationOutcome> dial(const storage::StoredPeer& peer);
  void on_worker_done();

  host::Host& host_;
  kad::Kademlia& kad_;
  storage::PeerStore& store_;
  std::size_t concurrency_;
  std::string label_;
  std::vector<storage::StoredPeer> peers_;
  std::size_t next_ = 0;  // index in peers_ of the next peer to dial
  std::size_t workers_running_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  std::function<bool(const PeerId&)> owns_;
  std::function<void(const storage::StoredPeer&, VerificationOutcome)> on_peer_;
  std::function<void(const VerificationReport&)> on_done_;
  VerificationTally tally_{0};
  std::chrono::steady_clock::time_point started_at_{};
};

}  // namespace mp::app

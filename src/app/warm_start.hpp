// WarmStart: the second half of a warm restart. At start the node puts the
// peers of its peer store into the Kademlia routing table, so they answer
// FIND_NODE at once (the seed design's "zero downtime on restart"). WarmStart
// then checks, in the background and a few dials at a time, which of them are
// still reachable:
//   - reached: the host's ConnectionEstablished(outbound) event refreshes the
//     row and its reputation (record_dial_success); addresses tried before
//     the one that worked lose reputation;
//   - already connected (it reconnected to us first): not dialed;
//   - unreachable (every stored address failed): every address of the peer
//     loses reputation (record_dial_failure). It stays in the routing table
//     unless that failure takes its stored reputation to the floor, that is
//     unless it was also unreachable at the previous warm start (from the
//     default 1.0: 1.0 -> 0.5 keeps it, 0.5 -> 0.0 removes it).
//
// Why an unreachable peer is not removed at once: a bootstrap node's peers
// are mostly phones and laptops that are offline for minutes or hours and
// come back. Dropping every peer that is offline during the seconds of a
// restart would empty the table the restart was meant to keep. A dead entry
// costs little meanwhile: clients skip peers they cannot dial, Kademlia's own
// rule replaces it as soon as its bucket needs the slot for a live peer (the
// least-recently-seen entry is pinged first), and storage GC forgets rows not
// seen for PEER_MAX_AGE_SECS. Peers with a long record of being reachable
// (reputation up to 10.0) get correspondingly more grace.
//
// Threading: runs on the node's io_context; not thread-safe.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
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

struct WarmStartConfig {
  // Dials in flight at once.
  std::size_t concurrency = 8;
  // Before the first dial. Clients that were connected before the restart
  // reconnect by themselves within seconds; waiting a little spares dialing
  // them (and doubling their connections).
  std::chrono::milliseconds delay{5'000};
};

// What happened to one stored peer.
enum class WarmStartOutcome {
  kReached,           // one of its addresses answered
  kAlreadyConnected,  // connected before we dialed: not dialed
  kUnreachable,       // every address failed
  kSkipped,           // left the routing table meanwhile, or the node is stopping
  kOtherMember,       // fleet mode: another alive member's share (not dialed here)
};

struct WarmStartReport {
  std::size_t peers = 0;  // handed to start()
  std::size_t reached = 0;
  std::size_t already_connected = 0;
  std::size_t unreachable = 0;
  std::size_t removed = 0;  // unreachable and taken out of the routing table
  std::size_t skipped = 0;
  std::size_t other_member = 0;  // left to the fleet member that owns them
  bool finished = false;
};

// The rule above: does a stored peer with best reputation `stored_reputation`
// leave the routing table after one more failed warm-start dial?
bool leaves_routing_table_when_unreachable(double stored_reputation);

// Tallies outcomes and says what the routing table should do. Pure: no I/O,
// so the rule is tested with plain calls.
class WarmStartTally {
 public:
  explicit WarmStartTally(std::size_t peers) { report_.peers = peers; }
  // Returns true when the peer must leave the routing table.
  bool record(WarmStartOutcome outcome, double stored_reputation);
  void finish() { report_.finished = true; }
  const WarmStartReport& report() const { return report_; }

 private:
  WarmStartReport report_;
};

class WarmStart {
 public:
  // The references must outlive every coroutine start() spawns (in the node:
  // members declared before this one, on the same io_context).
  WarmStart(host::Host& host, kad::Kademlia& kad, storage::PeerStore& store,
            WarmStartConfig config);

  // Dials `peers` (stored peers already put in the routing table, best
  // first) in the background on `executor`: after config.delay, at most
  // config.concurrency at a time, each peer's addresses in order until one
  // works. Logs a summary when done. Call once.
  void start(asio::any_io_executor executor, std::vector<storage::StoredPeer> peers);
  // No new dials after this (shutdown); dials in flight finish or fail.
  void stop() { stopping_ = true; }
  // Fleet mode: a peer is dialed only when `owns` says it is this member's
  // share (fleet::VerificationShard), asked at dial time, so a member that
  // went away meanwhile leaves its share to us. Unset: every peer.
  void set_shard_filter(std::function<bool(const PeerId&)> owns) { owns_ = std::move(owns); }
  // The peers handed to start().
  const std::vector<storage::StoredPeer>& peers() const { return peers_; }

  const WarmStartReport& report() const { return tally_.report(); }

 private:
  asio::awaitable<void> run(asio::any_io_executor executor);
  asio::awaitable<void> worker();
  asio::awaitable<WarmStartOutcome> dial_stored_peer(const storage::StoredPeer& peer);
  void on_worker_done();

  host::Host& host_;
  kad::Kademlia& kad_;
  storage::PeerStore& store_;
  WarmStartConfig config_;
  std::vector<storage::StoredPeer> peers_;
  std::size_t next_ = 0;  // index in peers_ of the next peer to dial
  std::size_t workers_running_ = 0;
  bool stopping_ = false;
  std::function<bool(const PeerId&)> owns_;
  WarmStartTally tally_{0};
  std::chrono::steady_clock::time_point started_at_{};
};

}  // namespace mp::app

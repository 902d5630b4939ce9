// Periodic re-verification (issue 16): every REVERIFY_INTERVAL_SECS the node
// dials the routing-table peers it is not connected to and has not seen
// (connected or identified) within the interval, to find out which are still
// reachable. A round is a VerificationRound (verification_round.hpp): the
// same dial rules, bounded concurrency, reputation and removal rule as the
// warm start, and in fleet mode the same fleet::VerificationShard filter,
// asked at dial time, so each peer is dialed by one member and a gone
// member's share moves to the others.
//
// Bounds: one round at a time (a round still running when the next is due,
// or the warm start still running, skips that one and counts it), at most
// ReverifyConfig::max_peers per round (the peers seen longest ago first; the
// rest wait for the next round), and ReverificationBook holds one entry per
// routing-table peer at most (pruned at every tick).
//
// Threading: network thread only, except counters() (atomics, any thread).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/verification_round.hpp"
#include "core/peer_id.hpp"
#include "http/health.hpp"
#include "kad/config.hpp"
#include "storage/peer_store.hpp"

namespace mp::kad {
class RoutingTable;
}

namespace mp::app {

// What re-verification knows of the routing table's peers: when this node
// last saw each one (a connection to it closed, or it identified), and its
// reputation as the peer store keeps it (loaded at start, then followed by
// the same steps the store applies to our dial outcomes: -0.5 per failed
// verification or lookup dial, back to at least 1.0 once reached). The
// store's daily +0.1 bonus is not followed: a long-running node's peers get
// at most the grace they had at its start. Pure: no I/O, the caller passes
// "now".
class ReverificationBook {
 public:
  void seen(const PeerId& peer, kad::TimePoint now);
  // The peer store's reputation (a load at start).
  void set_reputation(const PeerId& peer, double reputation);
  // A verification (or lookup) dial's outcome: the store's reputation step.
  void record(const PeerId& peer, VerificationOutcome outcome);
  double reputation(const PeerId& peer) const;  // 1.0 when unknown
  std::optional<kad::TimePoint> last_seen(const PeerId& peer) const;
  // Forgets the peers that left `table`.
  void prune(const kad::RoutingTable& table);
  std::size_t size() const { return entries_.size(); }

  // The round due at `now`: the peers of `table` that are not connected and
  // were not seen within `interval` (never seen by this node counts as due),
  // seen longest ago first (never seen first), at most `max_peers`, with
  // their routing-table addresses and the reputation above.
  std::vector<storage::StoredPeer> due(const kad::RoutingTable& table, kad::TimePoint now,
                                       kad::Duration interval,
                                       const std::function<bool(const PeerId&)>& connected,
                                       std::size_t max_peers) const;

 private:
  struct Entry {
    std::optional<kad::TimePoint> seen;
    double reputation = storage::kReputationDefault;
  };
  std::unordered_map<PeerId, Entry> entries_;
};

struct ReverifyConfig {
  std::chrono::seconds interval{600};  // REVERIFY_INTERVAL_SECS; 0: off
  std::size_t concurrency = 8;         // dials in flight, as the warm start
  // Peers per round. At 8 dials at a time and a few seconds per unreachable
  // peer, 1024 take minutes: a full table (256 buckets x 20) is covered over
  // several rounds rather than one round outliving the interval.
  std::size_t max_peers = 1024;
};

// Totals since start, for /metrics and /health (atomics: read from the HTTP thread).
struct ReverifyCounters {
  std::atomic<std::uint64_t> rounds{0};          // rounds run (finished)
  std::atomic<std::uint64_t> rounds_skipped{0};  // due while a round or the warm start ran
  std::atomic<std::uint64_t> reached{0};
  std::atomic<std::uint64_t> already_connected{0};
  std::atomic<std::uint64_t> unreachable{0};
  std::atomic<std::uint64_t> removed{0};
  std::atomic<std::uint64_t> skipped{0};
  std::atomic<std::uint64_t> other_member{0};
  std::atomic<std::uint64_t> last_round_peers{0};  // gauge
  std::atomic<std::uint64_t> running{0};           // gauge: 1 while a round runs
};

class Reverification {
 public:
  // The references must outlive every coroutine start() spawns (in the node:
  // members declared before this one, on the same io_context).
  Reverification(host::Host& host, kad::Kademlia& kad, storage::PeerStore& store,
                 ReverifyConfig config);

  // The periodic loop on `executor` (nothing when the interval is 0).
  void start(asio::any_io_executor executor);
  void stop();
  // Fleet mode: see VerificationRound::set_shard_filter.
  void set_shard_filter(std::function<bool(const PeerId&)> owns) {
    round_.set_shard_filter(std::move(owns));
  }
  // While `busy` answers true (the warm start is dialing), a due round is skipped.
  void set_busy(std::function<bool()> busy) { busy_ = std::move(busy); }

  ReverificationBook& book() { return book_; }
  const ReverifyCounters& counters() const { return counters_; }
  const ReverifyConfig& config() const { return config_; }
  // The mepassa_reverify_* families, Prometheus text (any thread).
  std::string metrics_text() const;
  // /health's `reverify` object (any thread).
  http::ReverifyHealth health() const;

 private:
  asio::awaitable<void> loop(asio::any_io_executor executor);
  void start_round(asio::any_io_executor executor);
  void on_round_done(const VerificationReport& r);

  host::Host& host_;
  kad::Kademlia& kad_;
  ReverifyConfig config_;
  VerificationRound round_;
  ReverificationBook book_;
  std::function<bool()> busy_;
  std::unique_ptr<asio::steady_timer> timer_;  // the loop's; cancelled by stop()
  ReverifyCounters counters_;
  bool stopping_ = false;
};

}  // namespace mp::app

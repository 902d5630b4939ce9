// WarmStart: the second half of a warm restart. At start the node puts the
// peers of its peer store into the Kademlia routing table, so they answer
// FIND_NODE at once (the seed design's "zero downtime on restart"). WarmStart
// then checks, in the background and a few dials at a time, which of them are
// still reachable: one VerificationRound (verification_round.hpp: the dial
// rules, the reputation and removal rule, fleet sharding) over the stored
// peers, after a short delay. Later checks are periodic re-verification's
// (reverification.hpp).
//
// Threading: runs on the node's io_context; not thread-safe.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "app/verification_round.hpp"
#include "core/peer_id.hpp"
#include "storage/peer_store.hpp"

namespace mp::app {

struct WarmStartConfig {
  // Dials in flight at once.
  std::size_t concurrency = 8;
  // Before the first dial. Clients that were connected before the restart
  // reconnect by themselves within seconds; waiting a little spares dialing
  // them (and doubling their connections).
  std::chrono::milliseconds delay{5'000};
};

// The warm start's names for a round's outcome and tally.
using WarmStartOutcome = VerificationOutcome;
using WarmStartReport = VerificationReport;
using WarmStartTally = VerificationTally;

class WarmStart {
 public:
  // The references must outlive every coroutine start() spawns (in the node:
  // members declared before this one, on the same io_context).
  WarmStart(host::Host& host, kad::Kademlia& kad, storage::PeerStore& store,
            WarmStartConfig config);

  // Dials `peers` (stored peers already put in the routing table, best
  // first) in the background on `executor` after config.delay. Logs a
  // summary when done. Call once.
  void start(asio::any_io_executor executor, std::vector<storage::StoredPeer> peers);
  // No new dials after this (shutdown); dials in flight finish or fail.
  void stop() { round_.stop(); }
  // Fleet mode: see VerificationRound::set_shard_filter.
  void set_shard_filter(std::function<bool(const PeerId&)> owns) {
    round_.set_shard_filter(std::move(owns));
  }
  // Each peer's outcome, as it comes (the node's re-verification follows
  // the reputations the round changes).
  void set_outcome_handler(std::function<void(const storage::StoredPeer&, VerificationOutcome)> h) {
    on_peer_ = std::move(h);
  }
  // The peers handed to start().
  const std::vector<storage::StoredPeer>& peers() const { return round_.peers(); }
  // From start() until every peer has an outcome.
  bool running() const { return !report().finished; }

  const WarmStartReport& report() const { return round_.report(); }

 private:
  asio::awaitable<void> run(asio::any_io_executor executor);

  WarmStartConfig config_;
  VerificationRound round_;
  std::function<void(const storage::StoredPeer&, VerificationOutcome)> on_peer_;
};

}  // namespace mp::app

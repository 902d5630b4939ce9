// PeerStore: the node's persistent memory of every peer it learned, so that
// after a restart the routing table is populated at once (the seed design's
// "zero downtime on restart") and an operator can inspect the history.
//
// Two engines: SqlitePeerStore (sqlite_peer_store.hpp, DATA_DIR/dht.db, the
// default) and PgPeerStore (pg_peer_store.hpp, DATABASE_URL), both on the
// shared batching writer (batching_peer_store.hpp).
//
// Contract for every backend:
// - Write calls (add_peer, remove_peer, record_dial_*, schedule_maintenance)
//   never wait on disk: they queue and return. A false return means the
//   bounded queue was full; the update is dropped and counted
//   (counters().queue_full_refusals). Safe from any thread.
// - Blocking calls (load_peers, get_stats, cleanup_stale, run_maintenance,
//   flush, close) may touch the disk: call them at start, at shutdown or
//   from a thread that may wait, never from the network event loop.
// - flush() and close() return only when every update queued before the
//   call has been written (or the write failed: the Status says so).
// - The caller decides what is worth storing: identify listen addresses and
//   addresses of successful outbound dials, not the ephemeral ports of
//   inbound connections. A trailing /p2p/<id> is stripped.
//
// Reputation (column `reputation`, 0.0 .. 10.0, new rows 1.0):
// - maintenance: +0.1 (up to 10.0) for every row seen within the last day
//   (the seed's rule: stable peers rise);
// - record_dial_failure: -0.5 per failed dial, never below 0.0;
// - record_dial_success: back to at least 1.0 (a reachable peer is forgiven)
//   and last_seen refreshed.
// Reputation orders the load at start (best first) and chooses what the
// caps evict (lowest reputation, then oldest last_seen).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"

namespace mp::storage {

inline constexpr double kReputationDefault = 1.0;
inline constexpr double kReputationMax = 10.0;
inline constexpr double kReputationFloor = 0.0;
inline constexpr double kReputationStableBonus = 0.1;
inline constexpr double kReputationDialFailurePenalty = 0.5;
// How often the caller's timer should call schedule_maintenance (the seed's
// "periodic sync" every 5 minutes).
inline constexpr std::chrono::seconds kDefaultMaintenanceInterval{300};
// "Stable" in the seed's reputation rule: seen within the last day.
inline constexpr std::int64_t kStableWindowSecs = 24 * 60 * 60;

struct StoredPeer {
  PeerId id;
  std::vector<Multiaddr> addrs;  // best first (reputation, then recency)
  double reputation = kReputationDefault;  // best of its addresses
  std::int64_t last_seen = 0;              // newest of its addresses, Unix seconds
};

// For the health endpoint ("storage" object in the seed's /health example).
struct StorageStats {
  std::uint64_t total_peers = 0;      // distinct peer ids
  std::uint64_t total_addresses = 0;  // rows
  std::uint64_t stale_peers = 0;      // peers not seen within the stale window
};

struct MaintenanceReport {
  std::uint64_t peers_touched = 0;   // rows refreshed by the periodic sync
  std::uint64_t rows_collected = 0;  // rows deleted by GC (older than max age)
  std::uint64_t rows_promoted = 0;   // rows that got the stable bonus
  std::uint64_t rows_evicted = 0;    // rows deleted to honour the caps
  StorageStats stats;                // after the above
};

// A snapshot for /metrics. Monotonic counters unless marked as a gauge.
struct PeerStoreCounters {
  std::uint64_t queue_depth = 0;     // gauge: distinct rows waiting
  std::uint64_t queue_capacity = 0;  // gauge
  std::uint64_t updates_accepted = 0;
  std::uint64_t updates_coalesced = 0;  // folded into a queued row
  std::uint64_t queue_full_refusals = 0;
  std::uint64_t batches_committed = 0;
  std::uint64_t rows_committed = 0;
  std::uint64_t last_batch_latency_us = 0;  // gauge
  std::uint64_t total_batch_latency_us = 0;
  std::uint64_t write_failures = 0;  // failed batch or maintenance transactions
  std::uint64_t rows_dropped = 0;    // lost after a failure because the queue was full
  std::uint64_t rows_evicted = 0;    // deleted by the caps
  std::uint64_t rows_collected = 0;  // deleted by GC
  std::uint64_t invalid_rows_skipped = 0;  // at load
  std::uint64_t failing = 0;  // gauge: 1 while writes (or the connection) fail, until one succeeds
};

class PeerStore {
 public:
  virtual ~PeerStore() = default;

  // --- write path: never waits on disk (see the contract above) ---
  virtual bool add_peer(const PeerId& peer, const Multiaddr& addr) = 0;
  virtual bool remove_peer(const PeerId& peer, const Multiaddr& addr) = 0;
  virtual bool record_dial_success(const PeerId& peer, const Multiaddr& addr) = 0;
  // Penalizes every stored address of `peer`.
  virtual bool record_dial_failure(const PeerId& peer) = 0;
  // Penalizes one address.
  virtual bool record_dial_failure(const PeerId& peer, const Multiaddr& addr) = 0;
  // Queues a maintenance run (periodic sync of `connected`, GC, reputation,
  // caps, stats log). Meant for the caller's 5-minute timer.
  virtual void schedule_maintenance(std::vector<PeerId> connected) = 0;

  // --- blocking ---
  // Every valid stored peer, best first. Invalid rows are skipped with a warning.
  virtual Result<std::vector<StoredPeer>> load_peers() = 0;
  // The stored peers a failed load_peers() could not return (PostgreSQL
  // down at start): once the database is back, `handler` is called once,
  // on the store's writer thread, with them (best first). Set it before
  // calling load_peers(). Engines whose load cannot fail later (SQLite)
  // never call it.
  virtual void set_deferred_load_handler(std::function<void(std::vector<StoredPeer>)> handler) {
    (void)handler;
  }
  virtual Result<StorageStats> get_stats() = 0;
  // Deletes rows whose last_seen is older than `max_age_secs`; returns how many.
  virtual Result<std::uint64_t> cleanup_stale(std::int64_t max_age_secs) = 0;
  // schedule_maintenance, waiting for the result.
  virtual Result<MaintenanceReport> run_maintenance(std::vector<PeerId> connected) = 0;
  virtual Status flush() = 0;
  // Flushes, stops the writer and releases the files. Idempotent.
  virtual Status close() = 0;

  // Cheap, lock-free snapshot; safe from any thread.
  virtual PeerStoreCounters counters() const = 0;
  // Storage stats kept by the writer thread (no disk access): re-read
  // within about a second after a batch commits, at once by flush() and
  // after each maintenance run.
  virtual StorageStats last_stats() const = 0;
};

}  // namespace mp::storage

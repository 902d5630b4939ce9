// BatchingPeerStore: the write path every PeerStore engine shares. The
// network thread's updates go into a bounded, coalescing WriteQueue; one
// writer thread owned by the store takes them in batches (every
// batch_interval, or at once when batch_max_rows are waiting) and hands each
// batch to the engine (write_batch) as one transaction. Maintenance, GC and
// the stats refresh run on the same thread, so writes never contend.
//
// A failed batch is counted, its rows put back at the front of the queue
// (up to its bound; what does not fit is counted in rows_dropped) and the
// whole batch retried after a growing delay (retry_interval doubling up to
// 30 s). An engine that can lose its connection (PostgreSQL) says so with
// set_available(false); the writer then calls reconnect() on that schedule
// even with nothing queued, and counters().failing stays 1 until it is back.
//
// Engines: SqlitePeerStore (sqlite_peer_store.hpp), PgPeerStore
// (pg_peer_store.hpp). A derived class calls start_writer() once open and
// stop_writer() first thing in its destructor/close (before its connections
// go away).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/peer_store.hpp"
#include "storage/write_queue.hpp"

namespace mp::storage {

// The part of an engine's configuration the shared write path reads.
struct BatchSettings {
  std::size_t queue_capacity = 65'536;
  std::size_t batch_max_rows = 1'000;
  std::chrono::milliseconds batch_interval{250};
  std::chrono::milliseconds retry_interval{1'000};  // first retry delay; doubles up to 30 s
  std::int64_t peer_max_age_secs = 7 * 24 * 60 * 60;
  std::function<std::int64_t()> clock;  // Unix seconds; tests inject one
};

class BatchingPeerStore : public PeerStore {
 public:
  bool add_peer(const PeerId& peer, const Multiaddr& addr) override;
  bool remove_peer(const PeerId& peer, const Multiaddr& addr) override;
  bool record_dial_success(const PeerId& peer, const Multiaddr& addr) override;
  bool record_dial_failure(const PeerId& peer) override;
  bool record_dial_failure(const PeerId& peer, const Multiaddr& addr) override;
  void schedule_maintenance(std::vector<PeerId> connected) override;

  Result<std::uint64_t> cleanup_stale(std::int64_t max_age_secs) override;
  Result<MaintenanceReport> run_maintenance(std::vector<PeerId> connected) override;
  Status flush() override;
  PeerStoreCounters counters() const override;
  StorageStats last_stats() const override;

 protected:
  explicit BatchingPeerStore(BatchSettings settings);

  // --- the engine; called on the writer thread only. Throw on failure. ---
  // Writes rows [begin, end) in one transaction; returns rows evicted by caps.
  virtual std::uint64_t write_batch(const std::vector<RowUpdate>& rows, std::size_t begin,
                                    std::size_t end, std::int64_t now) = 0;
  // Touch `connected`, GC, reputation, caps; r.stats is filled by the caller.
  virtual MaintenanceReport maintain_rows(const std::vector<PeerId>& connected, std::int64_t now) = 0;
  // Deletes rows last seen before `cutoff` (and the engine's other junk).
  virtual std::uint64_t collect_rows(std::int64_t cutoff, std::int64_t now) = 0;
  virtual StorageStats read_writer_stats() = 0;
  // Called while unavailable, on the retry schedule; throws if still down.
  virtual void reconnect() {}

  void start_writer();
  // Writes what is queued, stops the thread. Idempotent; returns the last
  // write's status.
  Status stop_writer();
  std::int64_t now() const;
  void note_failure(const std::string& what, const std::exception& e);
  void set_stats(const StorageStats& s);
  // False: the writer retries reconnect() instead of waiting for work.
  void set_available(bool available);

  BatchSettings settings_;

  struct Counters {
    std::atomic<std::uint64_t> queue_depth{0}, updates_accepted{0}, updates_coalesced{0},
        queue_full_refusals{0}, batches_committed{0}, rows_committed{0},
        last_batch_latency_us{0}, total_batch_latency_us{0}, write_failures{0},
        rows_dropped{0}, rows_evicted{0}, rows_collected{0}, invalid_rows_skipped{0};
    std::atomic<bool> failing{false};
  };
  Counters counters_;

 private:
  using Job = std::function<void()>;

  bool enqueue(RowUpdate u);
  void writer_loop();
  Status commit_rows(std::vector<RowUpdate> rows);
  Result<MaintenanceReport> maintain(const std::vector<PeerId>& connected);
  void refresh_stats();
  void note_success();

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable wake_writer_;
  std::condition_variable flushed_;
  WriteQueue queue_;
  std::deque<Job> jobs_;
  std::uint64_t flush_requested_ = 0;
  std::uint64_t flush_done_ = 0;
  Status flush_status_;
  bool stopping_ = false;
  bool stopped_ = false;
  bool maintenance_pending_ = false;  // at most one scheduled run queued
  bool available_ = true;
  std::thread thread_;
  StorageStats last_stats_;

  // Writer thread only.
  bool stats_dirty_ = false;
  std::chrono::steady_clock::time_point next_stats_at_{};
  std::uint64_t failures_in_row_ = 0;
};

}  // namespace mp::storage

// SqlitePeerStore: PeerStore on DATA_DIR/dht.db (SQLite, WAL mode,
// synchronous=NORMAL), the seed design's schema plus versioned additions
// (schema.hpp). Inspectable with plain `sqlite3` while the node runs.
//
// Threads: a writer thread owns the read-write connection. It takes the
// bounded, coalescing WriteQueue and commits UPSERTs in batches (every
// batch_interval or batch_max_rows rows, whichever first); maintenance and
// cleanup run on it too, so writes never contend with each other. Blocking
// reads (load_peers, get_stats) use a second, read-only connection.
//
// Durability: with WAL + synchronous=NORMAL a committed batch survives a
// process crash; a SIGKILL loses at most what was still queued (one batch
// window). close() (the SIGTERM path) writes everything first.
//
// Faults (open): missing data dir is created; a file that is not a database
// or fails PRAGMA quick_check has its readable rows salvaged (salvage.hpp),
// is moved to dht.db.corrupt-<unix time>, and a fresh one is started with
// the salvaged rows (one error line); a second store on the same
// data dir is refused (DataDirLock). Faults (running): a failed commit (disk
// full, read-only, busy) is logged, counted, its rows put back in the queue
// (up to its bound) and retried after a growing delay; the store keeps
// accepting updates and serving reads meanwhile.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "storage/data_dir_lock.hpp"
#include "storage/peer_store.hpp"
#include "storage/sqlite.hpp"
#include "storage/write_queue.hpp"

namespace mp::storage {

struct SqlitePeerStoreConfig {
  std::filesystem::path data_dir = "./data";  // DATA_DIR; the file is data_dir/dht.db
  std::int64_t peer_max_age_secs = 7 * 24 * 60 * 60;  // PEER_MAX_AGE_SECS: GC threshold
  std::int64_t stale_after_secs = kStableWindowSecs;  // StorageStats::stale_peers
  std::size_t max_addrs_per_peer = 16;
  std::size_t max_rows = 500'000;
  std::size_t queue_capacity = 65'536;  // distinct rows waiting for the writer
  std::size_t batch_max_rows = 1'000;
  std::chrono::milliseconds batch_interval{250};
  std::chrono::milliseconds busy_timeout{5'000};
  // First retry delay after a failed commit; doubles up to 30 s.
  std::chrono::milliseconds retry_interval{1'000};
  bool lock_data_dir = true;
  // Check the file at open with PRAGMA quick_check (cost: one read of the file).
  bool quick_check_on_open = true;
  // Open the database read-only: the store serves what is stored and every
  // write fails and is counted, as on a read-only filesystem. Also how tests
  // reach that path (root ignores chmod).
  bool read_only = false;
  // SQLite page cache of each connection. Peer ids are random keys, so every
  // batch touches pages all over the primary-key index; a cache that holds
  // the index saves a read per row.
  std::int64_t cache_size_kib = 32 * 1024;
  // WAL pages between automatic checkpoints (SQLite's default, 1,000: a
  // -wal file of about 4 MiB). Maintenance rounds and every 20,000
  // committed rows also checkpoint with TRUNCATE.
  std::int64_t wal_autocheckpoint_pages = 1'000;
  // PRAGMA journal_size_limit: what a reset WAL is truncated to.
  std::int64_t journal_size_limit_bytes = 4 << 20;
  // 0 = SQLite's default. A hard cap on the file size in pages; writes past
  // it fail with SQLITE_FULL as on a full disk.
  std::uint32_t max_page_count = 0;
  // Unix seconds; tests inject a clock.
  std::function<std::int64_t()> clock;
};

class SqlitePeerStore final : public PeerStore {
 public:
  // Creates the data dir, takes the lock, opens (or recovers) the database,
  // migrates the schema, garbage-collects stale rows (logging "Cleaned up N
  // stale peer records (older than Ns)") and starts the writer thread.
  // Call load_peers() next.
  static Result<std::unique_ptr<SqlitePeerStore>> open(SqlitePeerStoreConfig config);

  ~SqlitePeerStore() override;
  SqlitePeerStore(const SqlitePeerStore&) = delete;
  SqlitePeerStore& operator=(const SqlitePeerStore&) = delete;

  bool add_peer(const PeerId& peer, const Multiaddr& addr) override;
  bool remove_peer(const PeerId& peer, const Multiaddr& addr) override;
  bool record_dial_success(const PeerId& peer, const Multiaddr& addr) override;
  bool record_dial_failure(const PeerId& peer) override;
  bool record_dial_failure(const PeerId& peer, const Multiaddr& addr) override;
  void schedule_maintenance(std::vector<PeerId> connected) override;

  Result<std::vector<StoredPeer>> load_peers() override;
  Result<StorageStats> get_stats() override;
  Result<std::uint64_t> cleanup_stale(std::int64_t max_age_secs) override;
  Result<MaintenanceReport> run_maintenance(std::vector<PeerId> connected) override;
  Status flush() override;
  Status close() override;
  PeerStoreCounters counters() const override;

  // Storage stats kept by the writer thread (no disk access): re-read
  // within about a second after a batch commits (longer only when the
  // query itself is slow: it then takes at most 10% of the writer's time),
  // at once by flush() and after each maintenance run. stale_peers moves
  // with the clock too and is current as of the last refresh.
  StorageStats last_stats() const;
  const std::filesystem::path& db_path() const { return db_path_; }

 private:
  struct Writer;  // the writer thread's connection and prepared statements
  using Job = std::function<void(Writer&)>;

  explicit SqlitePeerStore(SqlitePeerStoreConfig config);
  Status open_files();
  bool enqueue(RowUpdate u);
  void writer_loop();
  // Commits `rows` in transactions of at most batch_max_rows; on failure puts
  // the rest back in the queue and returns the error.
  Status commit_rows(std::vector<RowUpdate> rows);
  void note_failure(const std::string& what, const std::exception& e);
  Result<MaintenanceReport> maintain(Writer& w, const std::vector<PeerId>& connected);
  // Re-reads last_stats_ on the writer's connection (see last_stats()).
  void refresh_stats(Writer& w);
  StorageStats read_stats(sqlite::Database& db);
  std::int64_t now() const;

  SqlitePeerStoreConfig config_;
  std::filesystem::path db_path_;
  DataDirLock lock_;
  std::unique_ptr<Writer> writer_;

  std::mutex read_mu_;  // guards reader_
  sqlite::Database reader_;

  mutable std::mutex mu_;  // guards everything below until the counters
  std::condition_variable wake_writer_;
  std::condition_variable flushed_;
  WriteQueue queue_;
  std::deque<Job> jobs_;
  std::uint64_t flush_requested_ = 0;
  std::uint64_t flush_done_ = 0;
  Status flush_status_;
  bool stopping_ = false;
  bool maintenance_pending_ = false;  // at most one scheduled run queued
  bool closed_ = false;
  std::thread thread_;
  StorageStats last_stats_;

  struct Counters {
    std::atomic<std::uint64_t> queue_depth{0}, updates_accepted{0}, updates_coalesced{0},
        queue_full_refusals{0}, batches_committed{0}, rows_committed{0},
        last_batch_latency_us{0}, total_batch_latency_us{0}, write_failures{0},
        rows_dropped{0}, rows_evicted{0}, rows_collected{0}, invalid_rows_skipped{0};
  };
  Counters counters_;
};

}  // namespace mp::storage

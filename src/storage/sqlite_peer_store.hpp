// SqlitePeerStore: PeerStore on DATA_DIR/dht.db (SQLite, WAL mode,
// synchronous=NORMAL), the seed design's schema plus versioned additions
// (schema.hpp). Inspectable with plain `sqlite3` while the node runs.
//
// Threads: the writer thread of BatchingPeerStore owns the read-write
// connection and commits UPSERTs in batches (every batch_interval or
// batch_max_rows rows, whichever first); maintenance and cleanup run on it
// too. Blocking reads (load_peers, get_stats) use a second, read-only
// connection.
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

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>

#include "storage/batching_peer_store.hpp"
#include "storage/data_dir_lock.hpp"
#include "storage/sqlite.hpp"

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

class SqlitePeerStore final : public BatchingPeerStore {
 public:
  // Creates the data dir, takes the lock, opens (or recovers) the database,
  // migrates the schema, garbage-collects stale rows (logging "Cleaned up N
  // stale peer records (older than Ns)") and starts the writer thread.
  // Call load_peers() next.
  static Result<std::unique_ptr<SqlitePeerStore>> open(SqlitePeerStoreConfig config);

  ~SqlitePeerStore() override;
  SqlitePeerStore(const SqlitePeerStore&) = delete;
  SqlitePeerStore& operator=(const SqlitePeerStore&) = delete;

  Result<std::vector<StoredPeer>> load_peers() override;
  Result<StorageStats> get_stats() override;
  Status close() override;

  const std::filesystem::path& db_path() const { return db_path_; }

 private:
  struct Writer;  // the writer thread's connection and prepared statements

  explicit SqlitePeerStore(SqlitePeerStoreConfig config);
  Status open_files();
  std::uint64_t write_batch(const std::vector<RowUpdate>& rows, std::size_t begin, std::size_t end,
                            std::int64_t now) override;
  MaintenanceReport maintain_rows(const std::vector<PeerId>& connected, std::int64_t now) override;
  std::uint64_t collect_rows(std::int64_t cutoff, std::int64_t now) override;
  StorageStats read_writer_stats() override;
  StorageStats read_stats(sqlite::Database& db);

  SqlitePeerStoreConfig config_;
  std::filesystem::path db_path_;
  DataDirLock lock_;
  std::unique_ptr<Writer> writer_;

  std::mutex read_mu_;  // guards reader_ and closed_
  sqlite::Database reader_;
  bool closed_ = false;
};

}  // namespace mp::storage

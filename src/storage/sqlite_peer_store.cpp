#include "storage/sqlite_peer_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "storage/salvage.hpp"
#include "storage/schema.hpp"

namespace mp::storage {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kMaxRetryInterval{30'000};
// Invalid rows logged one by one at load before switching to a summary.
constexpr std::uint64_t kInvalidRowsLogged = 10;
// A last_seen up to this far ahead of our clock is clamped to now; further
// ahead the row is collected (the clock that wrote it was badly wrong).
constexpr std::int64_t kMaxClockSkewSecs = 24 * 60 * 60;
// After this many committed rows the WAL is checkpointed and truncated, so
// a burst of writes does not leave a large -wal file behind.
constexpr std::uint64_t kCheckpointEveryRows = 20'000;
// How far last_stats() may lag behind committed writes, at least.
constexpr std::chrono::seconds kStatsInterval{1};

std::int64_t micros_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

std::string addr_text(const Multiaddr& addr) { return addr.without_peer_id().to_string(); }

// SQLite's quick_check report spans lines; a log event is one line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// Moves a database that SQLite cannot use out of the way, with its WAL, so
// the operator can still look at it; the -shm index is rebuilt from them.
std::filesystem::path move_aside(const std::filesystem::path& db, std::int64_t now) {
  namespace fs = std::filesystem;
  fs::path target = db.string() + ".corrupt-" + std::to_string(now);
  for (int i = 1; fs::exists(target); ++i) {
    target = db.string() + ".corrupt-" + std::to_string(now) + "-" + std::to_string(i);
  }
  fs::rename(db, target);
  std::error_code ec;
  if (fs::exists(db.string() + "-wal")) fs::rename(db.string() + "-wal", target.string() + "-wal", ec);
  fs::remove(db.string() + "-shm", ec);
  return target;
}

}  // namespace

// The writer thread's connection and its prepared statements, reused for
// every row. Touched by the writer thread only, once it runs.
struct SqlitePeerStore::Writer {
  sqlite::Database db;
  sqlite::Statement upsert, upsert_success, remove, penalize_row, penalize_peer, count_peer,
      cap_peer, touch_peer, collect_stmt, clamp, promote, evict, count;
  // Upper bound of the row count, so the total cap needs a COUNT(*) only
  // when it may be exceeded.
  std::uint64_t rows_estimate = 0;
  std::uint64_t rows_since_checkpoint = 0;
  // last_stats_ is behind the table: refresh at next_stats_at.
  bool stats_dirty = false;
  Clock::time_point next_stats_at{};
  bool failing = false;

  // Copies the WAL into the database and truncates it to zero bytes. A
  // reader holding an old snapshot makes it a partial checkpoint (no error);
  // the next one catches up.
  void checkpoint() {
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    rows_since_checkpoint = 0;
  }
  std::uint64_t failures_in_row = 0;

  void prepare() {
    // first_seen is set once, by the INSERT; a conflict only moves last_seen
    // forward, but never past now (?4/?5: the writer's clock), so a row left
    // in the future by a wrong clock comes back to now. RETURNING first_seen tells a new row
    // (first_seen == ?3) from an update, for rows_estimate.
    upsert = sqlite::Statement(db, R"(
      INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
      ON CONFLICT (peer_id, multiaddr) DO UPDATE SET
        last_seen = MIN(MAX(last_seen, excluded.last_seen), ?4)
      RETURNING first_seen)");
    upsert_success = sqlite::Statement(db, R"(
      INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
      ON CONFLICT (peer_id, multiaddr) DO UPDATE SET
        last_seen = MIN(MAX(last_seen, excluded.last_seen), ?5),
        reputation = MAX(reputation, ?4)
      RETURNING first_seen)");
    remove = sqlite::Statement(db, "DELETE FROM dht_peers WHERE peer_id = ?1 AND multiaddr = ?2");
    penalize_row = sqlite::Statement(db, R"(
      UPDATE dht_peers SET reputation = MAX(?3, reputation - ?4)
      WHERE peer_id = ?1 AND multiaddr = ?2)");
    penalize_peer = sqlite::Statement(db, R"(
      UPDATE dht_peers SET reputation = MAX(?2, reputation - ?3) WHERE peer_id = ?1)");
    count_peer = sqlite::Statement(db, "SELECT COUNT(*) FROM dht_peers WHERE peer_id = ?1");
    cap_peer = sqlite::Statement(db, R"(
      DELETE FROM dht_peers WHERE rowid IN (
        SELECT rowid FROM dht_peers WHERE peer_id = ?1
        ORDER BY reputation DESC, last_seen DESC LIMIT -1 OFFSET ?2))");
    // Connected now: last_seen is now, also when it was in the future.
    touch_peer = sqlite::Statement(db, "UPDATE dht_peers SET last_seen = ?2 WHERE peer_id = ?1");
    // Too old, too far in the future (a node once ran with a wrong clock),
    // or not a time at all (written by hand): none of them ever ages out
    // or stops gaining reputation otherwise. typeof() costs a table scan,
    // once per maintenance round.
    collect_stmt = sqlite::Statement(db, R"(
      DELETE FROM dht_peers
      WHERE last_seen < ?1 OR last_seen > ?2 OR typeof(last_seen) != 'integer')");
    // Within the tolerated skew ahead of us: clamped to now.
    clamp = sqlite::Statement(db, "UPDATE dht_peers SET last_seen = ?1 WHERE last_seen > ?1");
    // The seed's rule, on our clock: julianday('now') - julianday(last_seen,
    // 'unixepoch') < 1 is last_seen > now - 86400.
    promote = sqlite::Statement(db, R"(
      UPDATE dht_peers SET reputation = MIN(?2, reputation + ?3)
      WHERE last_seen > ?1 AND last_seen <= ?4 AND reputation < ?2)");
    evict = sqlite::Statement(db, R"(
      DELETE FROM dht_peers WHERE rowid IN (
        SELECT rowid FROM dht_peers ORDER BY reputation ASC, last_seen ASC LIMIT ?1))");
    count = sqlite::Statement(db, "SELECT COUNT(*) FROM dht_peers");
  }

  std::uint64_t count_rows() {
    count.step();
    auto n = static_cast<std::uint64_t>(count.column_int(0));
    count.reset();
    return n;
  }

  // Deletes rows last seen before `cutoff`, more than kMaxClockSkewSecs
  // after `now` or whose last_seen is not an integer; clamps the rest of
  // the future to `now`. Returns how many rows were deleted.
  std::uint64_t collect(std::int64_t cutoff, std::int64_t now) {
    collect_stmt.bind(1, cutoff).bind(2, now + kMaxClockSkewSecs).run();
    auto n = static_cast<std::uint64_t>(db.changes());
    rows_estimate -= std::min(rows_estimate, n);
    clamp.bind(1, now).run();
    return n;
  }

  // Keeps the best `max_addrs` rows of `peer`; returns how many were deleted.
  std::uint64_t cap_addresses(std::string_view peer, std::size_t max_addrs) {
    // Counting on the primary key's prefix is cheap; the ordered DELETE is
    // not, and is rarely needed.
    count_peer.bind(1, peer).step();
    const auto n_addrs = static_cast<std::uint64_t>(count_peer.column_int(0));
    count_peer.reset();
    if (n_addrs <= max_addrs) return 0;
    cap_peer.bind(1, peer).bind(2, static_cast<std::int64_t>(max_addrs)).run();
    auto n = static_cast<std::uint64_t>(db.changes());
    rows_estimate -= std::min(rows_estimate, n);
    return n;
  }

  // Evicts the least valuable rows down to 95% of `max_rows` once the
  // table exceeds it (the slack keeps eviction, a sort of the table, rare).
  std::uint64_t cap_rows(std::size_t max_rows) {
    if (rows_estimate <= max_rows) return 0;
    rows_estimate = count_rows();
    if (rows_estimate <= max_rows) return 0;
    const std::uint64_t target = max_rows - max_rows / 20;
    evict.bind(1, static_cast<std::int64_t>(rows_estimate - target)).run();
    auto n = static_cast<std::uint64_t>(db.changes());
    rows_estimate -= std::min(rows_estimate, n);
    return n;
  }
};

SqlitePeerStore::SqlitePeerStore(SqlitePeerStoreConfig config)
    : config_(std::move(config)),
      db_path_(config_.data_dir / "dht.db"),
      queue_(config_.queue_capacity) {}

SqlitePeerStore::~SqlitePeerStore() { (void)close(); }

std::int64_t SqlitePeerStore::now() const {
  if (config_.clock) return config_.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<SqlitePeerStore>> SqlitePeerStore::open(SqlitePeerStoreConfig config) {
  if (config.batch_max_rows == 0) config.batch_max_rows = 1;
  std::unique_ptr<SqlitePeerStore> store(new SqlitePeerStore(std::move(config)));
  Status st = store->open_files();
  if (!st) return st.error();
  SqlitePeerStore* s = store.get();
  store->thread_ = std::thread([s] { s->writer_loop(); });
  return store;
}

Status SqlitePeerStore::open_files() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(config_.data_dir, ec)) {
    fs::create_directories(config_.data_dir, ec);
    if (ec) {
      return make_error("cannot create data dir " + config_.data_dir.string() + ": " + ec.message());
    }
    spdlog::info("Created data dir {}", config_.data_dir.string());
  }
  if (config_.lock_data_dir) {
    auto lock = DataDirLock::acquire(config_.data_dir);
    if (!lock) return lock.error();
    lock_ = std::move(*lock);
  }

  spdlog::info("Opening DHT storage at {}", db_path_.string());
  writer_ = std::make_unique<Writer>();
  auto open_db = [this] {
    const bool ro = config_.read_only;
    sqlite::Database db(db_path_.string(), ro ? sqlite::Database::Mode::kReadOnly
                                              : sqlite::Database::Mode::kReadWriteCreate);
    db.set_busy_timeout(static_cast<int>(config_.busy_timeout.count()));
    // The first statement that reads the file: a non-database fails here.
    if (!ro) db.exec("PRAGMA journal_mode = WAL");
    db.query_int("SELECT COUNT(*) FROM sqlite_master");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA cache_size = -" + std::to_string(config_.cache_size_kib));
    if (!ro) {
      db.exec("PRAGMA wal_autocheckpoint = " + std::to_string(config_.wal_autocheckpoint_pages));
      // A checkpoint that reset the WAL truncates the file to this size;
      // without it the -wal file keeps its largest size forever.
      db.exec("PRAGMA journal_size_limit = " + std::to_string(config_.journal_size_limit_bytes));
    }
    if (config_.max_page_count > 0) {
      db.exec("PRAGMA max_page_count = " + std::to_string(config_.max_page_count));
    }
    if (config_.quick_check_on_open) {
      sqlite::Statement check(db, "PRAGMA quick_check(1)");
      if (check.step() && check.column_text(0) != "ok") {
        throw sqlite::SqliteError(SQLITE_CORRUPT, "quick_check: " + std::string(check.column_text(0)));
      }
    }
    if (ro) {
      if (schema_version(db) != kSchemaVersion) {
        throw std::runtime_error("read-only dht.db has schema version " +
                                 std::to_string(schema_version(db)) + ", expected " +
                                 std::to_string(kSchemaVersion) + " (cannot migrate read-only)");
      }
    } else {
      migrate(db);
    }
    return db;
  };
  try {
    try {
      writer_->db = open_db();
    } catch (const sqlite::SqliteError& e) {
      if (!sqlite::is_corruption(e.code()) || config_.read_only) throw;
      writer_->db.close();
      // Read what is still readable before the file is set aside.
      const Salvage salvage = salvage_peer_rows(db_path_, config_.max_rows);
      auto moved = move_aside(db_path_, now());
      writer_->db = open_db();
      const std::uint64_t restored = restore_peer_rows(writer_->db, salvage.rows, now());
      // One line; the seed-era wording stays for those who alert on it.
      spdlog::error(
          "DHT storage {} is not a usable SQLite database ({}). Moved it to {} and started a "
          "fresh{} peer store (salvaged {} peer records, {} rowids unreadable)",
          db_path_.string(), one_line(e.what()), moved.string(), restored == 0 ? ", EMPTY" : "",
          restored, salvage.unreadable_rowids);
    }
    writer_->prepare();
    writer_->rows_estimate = writer_->count_rows();
  } catch (const std::exception& e) {
    return make_error("cannot open peer store " + db_path_.string() + ": " + e.what());
  }

  // Start: garbage-collect first, so stale rows are never loaded.
  if (config_.read_only) {
    spdlog::warn("DHT storage {} is open read-only: serving stored peers, every update will fail "
                 "and be counted", db_path_.string());
  } else try {
      const std::uint64_t n = writer_->collect(now() - config_.peer_max_age_secs, now());
      counters_.rows_collected += n;
      spdlog::info("Cleaned up {} stale peer records (older than {}s)", n,
                   config_.peer_max_age_secs);
      // Caps may have been lowered since the last run.
      if (!config_.read_only && writer_->rows_estimate > 0) {
        sqlite::Transaction tx(writer_->db);
        std::uint64_t evicted = writer_->cap_rows(config_.max_rows);
        sqlite::Statement over(
            writer_->db, "SELECT peer_id FROM dht_peers GROUP BY peer_id HAVING COUNT(*) > ?1");
        over.bind(1, static_cast<std::int64_t>(config_.max_addrs_per_peer));
        std::vector<std::string> peers;
        while (over.step()) peers.emplace_back(over.column_text(0));
        over.reset();
        for (const auto& p : peers)
          evicted += writer_->cap_addresses(p, config_.max_addrs_per_peer);
        tx.commit();
        counters_.rows_evicted += evicted;
        if (evicted > 0) spdlog::info("Evicted {} peer records over the storage caps", evicted);
    }
  } catch (const std::exception& e) {
    note_failure("start-up garbage collection", e);
  }
  // /health reports last_stats(); without this it would say 0 peers until
  // the first maintenance run (5 minutes by default).
  try {
    last_stats_ = read_stats(writer_->db);
  } catch (const std::exception& e) {
    spdlog::warn("Could not read storage stats at start: {}", e.what());
  }

  try {
    reader_ = sqlite::Database(db_path_.string(), sqlite::Database::Mode::kReadOnly);
    reader_.set_busy_timeout(static_cast<int>(config_.busy_timeout.count()));
    reader_.exec("PRAGMA cache_size = -" + std::to_string(config_.cache_size_kib));
  } catch (const std::exception& e) {
    return make_error("cannot open peer store for reading: " + std::string(e.what()));
  }
  spdlog::info("DHT storage ready");
  return Status::Ok();
}

// ---------------------------------------------------------------- write path

bool SqlitePeerStore::enqueue(RowUpdate u) {
  std::size_t size = 0;
  bool accepted = false;
  bool grew = false;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return false;
    const std::size_t before = queue_.size();
    accepted = queue_.push(std::move(u));
    size = queue_.size();
    grew = size > before;
  }
  if (!accepted) {
    counters_.queue_full_refusals.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  counters_.updates_accepted.fetch_add(1, std::memory_order_relaxed);
  if (!grew) counters_.updates_coalesced.fetch_add(1, std::memory_order_relaxed);
  counters_.queue_depth.store(size, std::memory_order_relaxed);
  // Wake the writer only to start a batch window or when a batch is full:
  // waking it per update would defeat batching.
  if (grew && (size == 1 || size == config_.batch_max_rows)) wake_writer_.notify_one();
  return true;
}

bool SqlitePeerStore::add_peer(const PeerId& peer, const Multiaddr& addr) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.multiaddr = addr_text(addr);
  u.seen = now();
  return enqueue(std::move(u));
}

bool SqlitePeerStore::remove_peer(const PeerId& peer, const Multiaddr& addr) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.multiaddr = addr_text(addr);
  u.remove = true;
  return enqueue(std::move(u));
}

bool SqlitePeerStore::record_dial_success(const PeerId& peer, const Multiaddr& addr) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.multiaddr = addr_text(addr);
  u.seen = now();
  u.dial_success = true;
  return enqueue(std::move(u));
}

bool SqlitePeerStore::record_dial_failure(const PeerId& peer) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.dial_failures = 1;
  return enqueue(std::move(u));
}

bool SqlitePeerStore::record_dial_failure(const PeerId& peer, const Multiaddr& addr) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.multiaddr = addr_text(addr);
  u.dial_failures = 1;
  return enqueue(std::move(u));
}

void SqlitePeerStore::note_failure(const std::string& what, const std::exception& e) {
  counters_.write_failures.fetch_add(1, std::memory_order_relaxed);
  Writer& w = *writer_;
  ++w.failures_in_row;
  // Loud on the first failure, then once a minute's worth of retries, so a
  // full disk does not flood the log.
  if (!w.failing || w.failures_in_row % 60 == 0) {
    spdlog::error("Peer store {} failed ({} failures in a row): {}; queued updates are kept "
                  "(up to {}) and retried",
                  what, w.failures_in_row, e.what(), config_.queue_capacity);
  }
  w.failing = true;
}

Status SqlitePeerStore::commit_rows(std::vector<RowUpdate> rows) {
  Writer& w = *writer_;
  const double penalty = kReputationDialFailurePenalty;
  const std::int64_t t_now = now();
  std::size_t i = 0;
  while (i < rows.size()) {
    const std::size_t end = std::min(rows.size(), i + config_.batch_max_rows);
    const auto t0 = Clock::now();
    const std::uint64_t estimate_before = w.rows_estimate;
    std::uint64_t evicted = 0;
    try {
      sqlite::Transaction tx(w.db);
      std::unordered_set<std::string_view> grown;  // peers that may now exceed the cap
      for (std::size_t j = i; j < end; ++j) {
        const RowUpdate& u = rows[j];
        if (u.multiaddr.empty()) {
          if (u.dial_failures > 0) {
            w.penalize_peer.bind(1, u.peer_id).bind(2, kReputationFloor)
                .bind(3, penalty * u.dial_failures).run();
          }
          continue;
        }
        if (u.remove) {
          w.remove.bind(1, u.peer_id).bind(2, u.multiaddr).run();
          w.rows_estimate -= std::min<std::uint64_t>(w.rows_estimate, w.db.changes());
        }
        if (u.seen > 0) {
          sqlite::Statement& st = u.dial_success ? w.upsert_success : w.upsert;
          const std::int64_t seen = std::min(u.seen, t_now);
          st.bind(1, u.peer_id).bind(2, u.multiaddr).bind(3, seen);
          if (u.dial_success) {
            st.bind(4, kReputationDefault).bind(5, t_now);
          } else {
            st.bind(4, t_now);
          }
          if (st.step() && st.column_int(0) == seen) {
            ++w.rows_estimate;
            grown.insert(u.peer_id);
          }
          st.reset();
        }
        if (u.dial_failures > 0) {
          w.penalize_row.bind(1, u.peer_id).bind(2, u.multiaddr).bind(3, kReputationFloor)
              .bind(4, penalty * u.dial_failures).run();
        }
      }
      for (std::string_view p : grown) evicted += w.cap_addresses(p, config_.max_addrs_per_peer);
      evicted += w.cap_rows(config_.max_rows);
      tx.commit();
    } catch (const std::exception& e) {
      w.rows_estimate = estimate_before;
      std::vector<RowUpdate> rest(std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(i)),
                                  std::make_move_iterator(rows.end()));
      std::size_t dropped = 0;
      std::size_t depth = 0;
      {
        std::lock_guard lk(mu_);
        dropped = queue_.requeue(std::move(rest));
        depth = queue_.size();
      }
      counters_.queue_depth.store(depth, std::memory_order_relaxed);
      counters_.rows_dropped.fetch_add(dropped, std::memory_order_relaxed);
      note_failure("write of " + std::to_string(end - i) + " peer updates", e);
      return make_error(std::string("peer store write failed: ") + e.what());
    }
    const auto us = static_cast<std::uint64_t>(micros_since(t0));
    w.rows_since_checkpoint += end - i;
    if (w.rows_since_checkpoint >= kCheckpointEveryRows) {
      try {
        w.checkpoint();
      } catch (const std::exception& e) {
        spdlog::warn("Peer store WAL checkpoint failed: {}", e.what());
      }
    }
    counters_.batches_committed.fetch_add(1, std::memory_order_relaxed);
    counters_.rows_committed.fetch_add(end - i, std::memory_order_relaxed);
    counters_.rows_evicted.fetch_add(evicted, std::memory_order_relaxed);
    counters_.last_batch_latency_us.store(us, std::memory_order_relaxed);
    counters_.total_batch_latency_us.fetch_add(us, std::memory_order_relaxed);
    if (w.failing) {
      spdlog::info("Peer store writes recovered after {} failures", w.failures_in_row);
      w.failing = false;
      w.failures_in_row = 0;
    }
    i = end;
  }
  return Status::Ok();
}

void SqlitePeerStore::refresh_stats(Writer& w) {
  const auto t0 = Clock::now();
  try {
    StorageStats s = read_stats(w.db);
    std::lock_guard lk(mu_);
    last_stats_ = s;
  } catch (const std::exception& e) {
    spdlog::warn("Could not read storage stats: {}", e.what());
  }
  // The query reads the whole primary-key index: on a large table under
  // constant writes it runs at most 10% of the writer's time.
  const auto cost = Clock::now() - t0;
  w.next_stats_at = Clock::now() + std::max<Clock::duration>(kStatsInterval, 10 * cost);
  w.stats_dirty = false;
}

void SqlitePeerStore::writer_loop() {
  std::unique_lock lk(mu_);
  auto retry_at = Clock::time_point::min();
  auto backoff = config_.retry_interval;
  Writer& w = *writer_;
  while (true) {
    auto urgent = [&] { return stopping_ || !jobs_.empty() || flush_requested_ != flush_done_; };
    auto has_work = [&] { return urgent() || !queue_.empty(); };
    if (w.stats_dirty) {
      if (!wake_writer_.wait_until(lk, w.next_stats_at, has_work)) {
        lk.unlock();
        refresh_stats(w);  // nothing else to do: the stats are due
        lk.lock();
        continue;
      }
    } else {
      wake_writer_.wait(lk, has_work);
    }
    if (!urgent()) {
      // A batch window opens with the first queued row; it closes early when
      // a full batch is waiting, unless we are backing off after a failure.
      const auto deadline = std::max(Clock::now() + config_.batch_interval, retry_at);
      wake_writer_.wait_until(lk, deadline, [&] {
        return urgent() ||
               (queue_.size() >= config_.batch_max_rows && Clock::now() >= retry_at);
      });
    }
    const std::uint64_t ticket = flush_requested_;
    const std::uint64_t flush_seen = flush_done_;
    const bool stop = stopping_;
    std::vector<RowUpdate> rows = queue_.take_all();
    std::deque<Job> jobs;
    jobs.swap(jobs_);
    counters_.queue_depth.store(0, std::memory_order_relaxed);
    lk.unlock();

    Status st;
    const bool had_rows = !rows.empty();
    if (had_rows) {
      st = commit_rows(std::move(rows));
      if (st) {
        backoff = config_.retry_interval;
        retry_at = Clock::time_point::min();
      } else {
        retry_at = Clock::now() + backoff;
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxRetryInterval);
      }
    }
    for (Job& job : jobs) job(*writer_);
    if (had_rows && st) w.stats_dirty = true;
    // A flush (and close) returns with current stats.
    if (w.stats_dirty && (Clock::now() >= w.next_stats_at || ticket != flush_seen || stop)) {
      refresh_stats(w);
    }

    lk.lock();
    if (ticket != flush_done_) {
      flush_done_ = ticket;
      flush_status_ = st;
    }
    if (stop) {
      flush_status_ = st;
      if (!queue_.empty()) {
        spdlog::error("Peer store closing with {} peer updates not written: {}", queue_.size(),
                      st.message());
      }
      flushed_.notify_all();
      return;
    }
    flushed_.notify_all();
  }
}

void SqlitePeerStore::schedule_maintenance(std::vector<PeerId> connected) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || maintenance_pending_) return;  // a slow disk must not pile runs up
    maintenance_pending_ = true;
    jobs_.push_back([this, connected = std::move(connected)](Writer& w) {
      {
        std::lock_guard job_lk(mu_);
        maintenance_pending_ = false;
      }
      (void)maintain(w, connected);
    });
  }
  wake_writer_.notify_one();
}

Result<MaintenanceReport> SqlitePeerStore::run_maintenance(std::vector<PeerId> connected) {
  auto done = std::make_shared<std::promise<Result<MaintenanceReport>>>();
  auto result = done->get_future();
  {
    std::lock_guard lk(mu_);
    if (stopping_) return make_error("peer store is closed");
    jobs_.push_back([this, done, connected = std::move(connected)](Writer& w) {
      done->set_value(maintain(w, connected));
    });
  }
  wake_writer_.notify_one();
  return result.get();
}

Result<std::uint64_t> SqlitePeerStore::cleanup_stale(std::int64_t max_age_secs) {
  auto done = std::make_shared<std::promise<Result<std::uint64_t>>>();
  auto result = done->get_future();
  {
    std::lock_guard lk(mu_);
    if (stopping_) return make_error("peer store is closed");
    jobs_.push_back([this, done, max_age_secs](Writer& w) {
      try {
        std::uint64_t n = w.collect(now() - max_age_secs, now());
        counters_.rows_collected.fetch_add(n, std::memory_order_relaxed);
        spdlog::info("Cleaned up {} stale peer records (older than {}s)", n, max_age_secs);
        done->set_value(n);
      } catch (const std::exception& e) {
        note_failure("garbage collection", e);
        done->set_value(make_error(std::string("garbage collection failed: ") + e.what()));
      }
    });
  }
  wake_writer_.notify_one();
  return result.get();
}

Result<MaintenanceReport> SqlitePeerStore::maintain(Writer& w, const std::vector<PeerId>& connected) {
  MaintenanceReport r;
  const std::int64_t t = now();
  try {
    sqlite::Transaction tx(w.db);
    // The seed's "periodic sync": connected peers are alive now.
    for (const PeerId& p : connected) {
      w.touch_peer.bind(1, p.to_base58()).bind(2, t).run();
      r.peers_touched += static_cast<std::uint64_t>(w.db.changes());
    }
    r.rows_collected = w.collect(t - config_.peer_max_age_secs, t);
    w.promote.bind(1, t - kStableWindowSecs)
        .bind(2, kReputationMax)
        .bind(3, kReputationStableBonus)
        .bind(4, t)
        .run();
    r.rows_promoted = static_cast<std::uint64_t>(w.db.changes());
    r.rows_evicted = w.cap_rows(config_.max_rows);
    tx.commit();
    w.checkpoint();
    r.stats = read_stats(w.db);
  } catch (const std::exception& e) {
    note_failure("maintenance", e);
    return make_error(std::string("peer store maintenance failed: ") + e.what());
  }
  counters_.rows_collected.fetch_add(r.rows_collected, std::memory_order_relaxed);
  counters_.rows_evicted.fetch_add(r.rows_evicted, std::memory_order_relaxed);
  {
    std::lock_guard lk(mu_);
    last_stats_ = r.stats;
  }
  const PeerStoreCounters c = counters();
  spdlog::info(
      "Storage stats: {} peers, {} addresses, {} stale peers; maintenance touched {}, "
      "collected {}, promoted {}, evicted {}; queue {}/{}, refused {}, write failures {}",
      r.stats.total_peers, r.stats.total_addresses, r.stats.stale_peers, r.peers_touched,
      r.rows_collected, r.rows_promoted, r.rows_evicted, c.queue_depth, c.queue_capacity,
      c.queue_full_refusals, c.write_failures);
  return r;
}

Status SqlitePeerStore::flush() {
  std::unique_lock lk(mu_);
  if (stopping_) return make_error("peer store is closed");
  const std::uint64_t ticket = ++flush_requested_;
  wake_writer_.notify_one();
  flushed_.wait(lk, [&] { return flush_done_ >= ticket; });
  return flush_status_;
}

Status SqlitePeerStore::close() {
  {
    std::lock_guard lk(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    stopping_ = true;
  }
  wake_writer_.notify_one();
  if (thread_.joinable()) thread_.join();
  Status st;
  {
    std::lock_guard lk(mu_);
    st = flush_status_;
  }
  {
    std::lock_guard lk(read_mu_);
    reader_.close();
  }
  // Closed last, the read-write connection checkpoints the WAL into dht.db
  // and removes it: a cleanly stopped node leaves one self-contained file.
  writer_.reset();
  lock_.release();
  return st;
}

// ---------------------------------------------------------------- reads

StorageStats SqlitePeerStore::read_stats(sqlite::Database& db) {
  // One pass grouped by peer (the primary key's index).
  sqlite::Statement st(db, R"(
    SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(SUM(newest < ?1), 0) FROM (
      SELECT COUNT(*) AS n, MAX(last_seen) AS newest FROM dht_peers GROUP BY peer_id))");
  st.bind(1, now() - config_.stale_after_secs);
  StorageStats s;
  if (st.step()) {
    s.total_peers = static_cast<std::uint64_t>(st.column_int(0));
    s.total_addresses = static_cast<std::uint64_t>(st.column_int(1));
    s.stale_peers = static_cast<std::uint64_t>(st.column_int(2));
  }
  return s;
}

Result<StorageStats> SqlitePeerStore::get_stats() {
  std::lock_guard lk(read_mu_);
  if (!reader_.is_open()) return make_error("peer store is closed");
  try {
    return read_stats(reader_);
  } catch (const std::exception& e) {
    return make_error(std::string("cannot read storage stats: ") + e.what());
  }
}

StorageStats SqlitePeerStore::last_stats() const {
  std::lock_guard lk(mu_);
  return last_stats_;
}

Result<std::vector<StoredPeer>> SqlitePeerStore::load_peers() {
  struct Addr {
    Multiaddr addr;
    double reputation;
    std::int64_t last_seen;
  };
  struct Group {
    std::optional<PeerId> id;  // nullopt: invalid peer id, rows skipped
    std::vector<Addr> addrs;
  };
  const auto t0 = Clock::now();
  const std::int64_t t_now = now();
  std::vector<Group> groups;
  std::unordered_map<std::string, std::size_t> index;    // by peer_id text
  std::unordered_map<PeerId, std::size_t> by_id;         // by parsed id
  std::uint64_t invalid = 0;
  auto warn_invalid = [&](std::string_view peer, std::string_view addr, const std::string& why) {
    if (++invalid <= kInvalidRowsLogged) {
      spdlog::warn("Skipping invalid stored peer record ({}, {}): {}", peer, addr, why);
    }
  };
  {
    std::lock_guard lk(read_mu_);
    if (!reader_.is_open()) return make_error("peer store is closed");
    try {
      // A plain table scan (rowid order) and grouping in memory beat an
      // ORDER BY over the whole table at 10^6 rows.
      sqlite::Statement st(reader_, "SELECT peer_id, multiaddr, reputation, last_seen FROM dht_peers");
      while (st.step()) {
        const std::string_view peer_text = st.column_text(0);
        const std::string_view addr_str = st.column_text(1);
        auto [it, fresh] = index.try_emplace(std::string(peer_text), groups.size());
        if (fresh) {
          Group g;
          auto id = PeerId::parse(peer_text);
          if (id) {
            // One peer may be spelled two ways (base58 and CID text, e.g. by
            // hand edits): both spellings share its group, so it loads once.
            auto [by_id_it, new_id] = by_id.try_emplace(*id, groups.size());
            if (!new_id) it->second = by_id_it->second;
            else g.id = std::move(*id);
          } else {
            warn_invalid(peer_text, addr_str, "bad peer id: " + id.message());
          }
          if (it->second == groups.size()) groups.push_back(std::move(g));
        }
        Group& g = groups[it->second];
        if (!g.id) {
          if (!fresh) warn_invalid(peer_text, addr_str, "bad peer id");
          continue;
        }
        auto addr = Multiaddr::parse(addr_str);
        if (!addr) {
          warn_invalid(peer_text, addr_str, "bad multiaddr: " + addr.message());
          continue;
        }
        // A last_seen ahead of our clock counts as now (see Writer::collect).
        g.addrs.push_back(
            Addr{addr->without_peer_id(), st.column_double(2), std::min(st.column_int(3), t_now)});
      }
    } catch (const std::exception& e) {
      return make_error(std::string("cannot load stored peers: ") + e.what());
    }
  }
  if (invalid > kInvalidRowsLogged) {
    spdlog::warn("Skipped {} invalid stored peer records in total", invalid);
  }
  counters_.invalid_rows_skipped.fetch_add(invalid, std::memory_order_relaxed);

  std::vector<StoredPeer> peers;
  peers.reserve(groups.size());
  std::size_t n_addrs = 0;
  for (Group& g : groups) {
    if (!g.id || g.addrs.empty()) continue;
    std::sort(g.addrs.begin(), g.addrs.end(), [](const Addr& a, const Addr& b) {
      if (a.reputation != b.reputation) return a.reputation > b.reputation;
      return a.last_seen > b.last_seen;
    });
    StoredPeer p;
    p.id = std::move(*g.id);
    p.reputation = g.addrs.front().reputation;
    p.last_seen = 0;
    p.addrs.reserve(g.addrs.size());
    std::unordered_set<Multiaddr> kept;
    for (Addr& a : g.addrs) {
      p.last_seen = std::max(p.last_seen, a.last_seen);
      // Rows may name one address twice (with and without /p2p/, or under
      // two spellings of the peer): keep it once, from its best row.
      if (!kept.insert(a.addr).second) continue;
      p.addrs.push_back(std::move(a.addr));
    }
    n_addrs += p.addrs.size();
    peers.push_back(std::move(p));
  }
  // Best first: the caller may fill a bounded routing table from the front.
  std::sort(peers.begin(), peers.end(), [](const StoredPeer& a, const StoredPeer& b) {
    if (a.reputation != b.reputation) return a.reputation > b.reputation;
    if (a.last_seen != b.last_seen) return a.last_seen > b.last_seen;
    return a.id < b.id;
  });
  spdlog::info("Loaded {} peers with {} addresses from storage ({} ms)", peers.size(), n_addrs,
               micros_since(t0) / 1000);
  return peers;
}

PeerStoreCounters SqlitePeerStore::counters() const {
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  PeerStoreCounters c;
  c.queue_depth = get(counters_.queue_depth);
  c.queue_capacity = config_.queue_capacity;
  c.updates_accepted = get(counters_.updates_accepted);
  c.updates_coalesced = get(counters_.updates_coalesced);
  c.queue_full_refusals = get(counters_.queue_full_refusals);
  c.batches_committed = get(counters_.batches_committed);
  c.rows_committed = get(counters_.rows_committed);
  c.last_batch_latency_us = get(counters_.last_batch_latency_us);
  c.total_batch_latency_us = get(counters_.total_batch_latency_us);
  c.write_failures = get(counters_.write_failures);
  c.rows_dropped = get(counters_.rows_dropped);
  c.rows_evicted = get(counters_.rows_evicted);
  c.rows_collected = get(counters_.rows_collected);
  c.invalid_rows_skipped = get(counters_.invalid_rows_skipped);
  return c;
}

}  // namespace mp::storage

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
#include "storage/stored_peer_builder.hpp"

namespace mp::storage {
namespace {

using Clock = std::chrono::steady_clock;
// A last_seen up to this far ahead of our clock is clamped to now; further
// ahead the row is collected (the clock that wrote it was badly wrong).
constexpr std::int64_t kMaxClockSkewSecs = 24 * 60 * 60;
// After this many committed rows the WAL is checkpointed and truncated, so
// a burst of writes does not leave a large -wal file behind.
constexpr std::uint64_t kCheckpointEveryRows = 20'000;

std::int64_t micros_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

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

  // Copies the WAL into the database and truncates it to zero bytes. A
  // reader holding an old snapshot makes it a partial checkpoint (no error);
  // the next one catches up.
  void checkpoint() {
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    rows_since_checkpoint = 0;
  }

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

namespace {
BatchSettings batch_settings(const SqlitePeerStoreConfig& c) {
  return BatchSettings{c.queue_capacity, c.batch_max_rows, c.batch_interval,
                       c.retry_interval,  c.peer_max_age_secs, c.clock};
}
}  // namespace

SqlitePeerStore::SqlitePeerStore(SqlitePeerStoreConfig config)
    : BatchingPeerStore(batch_settings(config)),
      config_(std::move(config)),
      db_path_(config_.data_dir / "dht.db") {}

SqlitePeerStore::~SqlitePeerStore() { (void)close(); }

Result<std::unique_ptr<SqlitePeerStore>> SqlitePeerStore::open(SqlitePeerStoreConfig config) {
  if (config.batch_max_rows == 0) config.batch_max_rows = 1;
  std::unique_ptr<SqlitePeerStore> store(new SqlitePeerStore(std::move(config)));
  Status st = store->open_files();
  if (!st) return st.error();
  store->start_writer();
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
    set_stats(read_stats(writer_->db));
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

// ---------------------------------------------------------------- writer thread

std::uint64_t SqlitePeerStore::write_batch(const std::vector<RowUpdate>& rows, std::size_t begin,
                                           std::size_t end, std::int64_t t_now) {
  Writer& w = *writer_;
  const double penalty = kReputationDialFailurePenalty;
  const std::uint64_t estimate_before = w.rows_estimate;
  std::uint64_t evicted = 0;
  try {
    sqlite::Transaction tx(w.db);
    std::unordered_set<std::string_view> grown;  // peers that may now exceed the cap
    for (std::size_t j = begin; j < end; ++j) {
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
  } catch (...) {
    w.rows_estimate = estimate_before;
    throw;
  }
  w.rows_since_checkpoint += end - begin;
  if (w.rows_since_checkpoint >= kCheckpointEveryRows) {
    try {
      w.checkpoint();
    } catch (const std::exception& e) {
      spdlog::warn("Peer store WAL checkpoint failed: {}", e.what());
    }
  }
  return evicted;
}

std::uint64_t SqlitePeerStore::collect_rows(std::int64_t cutoff, std::int64_t t_now) {
  return writer_->collect(cutoff, t_now);
}

StorageStats SqlitePeerStore::read_writer_stats() { return read_stats(writer_->db); }

MaintenanceReport SqlitePeerStore::maintain_rows(const std::vector<PeerId>& connected,
                                                 std::int64_t t) {
  Writer& w = *writer_;
  MaintenanceReport r;
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
  return r;
}

Status SqlitePeerStore::close() {
  {
    std::lock_guard lk(read_mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
  }
  Status st = stop_writer();
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

Result<std::vector<StoredPeer>> SqlitePeerStore::load_peers() {
  const auto t0 = Clock::now();
  StoredPeerBuilder builder(now());
  {
    std::lock_guard lk(read_mu_);
    if (!reader_.is_open()) return make_error("peer store is closed");
    try {
      // A plain table scan (rowid order) and grouping in memory beat an
      // ORDER BY over the whole table at 10^6 rows.
      sqlite::Statement st(reader_, "SELECT peer_id, multiaddr, reputation, last_seen FROM dht_peers");
      while (st.step()) {
        builder.add(st.column_text(0), st.column_text(1), st.column_double(2), st.column_int(3));
      }
    } catch (const std::exception& e) {
      return make_error(std::string("cannot load stored peers: ") + e.what());
    }
  }
  std::vector<StoredPeer> peers = builder.finish();
  counters_.invalid_rows_skipped.fetch_add(builder.invalid(), std::memory_order_relaxed);
  spdlog::info("Loaded {} peers with {} addresses from storage ({} ms)", peers.size(),
               builder.addresses(), micros_since(t0) / 1000);
  return peers;
}

}  // namespace mp::storage

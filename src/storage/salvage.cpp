#include "storage/salvage.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <optional>

namespace mp::storage {
namespace {

constexpr std::int64_t kRange = 256;
constexpr int kFailedRangesBeforeGivingUp = 256;

// Reads one row of the SELECT below; nullopt when its types are not those
// of a record we wrote (garbage that happens to parse).
std::optional<SalvagedRow> read_row(sqlite3_stmt* st, bool has_reputation) {
  if (sqlite3_column_type(st, 0) != SQLITE_TEXT || sqlite3_column_type(st, 1) != SQLITE_TEXT ||
      sqlite3_column_type(st, 2) != SQLITE_INTEGER ||
      sqlite3_column_type(st, 3) != SQLITE_INTEGER) {
    return std::nullopt;
  }
  SalvagedRow r;
  r.peer_id.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                   static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
  r.multiaddr.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                     static_cast<std::size_t>(sqlite3_column_bytes(st, 1)));
  r.first_seen = sqlite3_column_int64(st, 2);
  r.last_seen = sqlite3_column_int64(st, 3);
  if (has_reputation) {
    const int t = sqlite3_column_type(st, 4);
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) r.reputation = sqlite3_column_double(st, 4);
  }
  if (r.peer_id.empty() || r.multiaddr.empty()) return std::nullopt;
  return r;
}

class Reader {
 public:
  Reader(sqlite3* db, bool has_reputation) : db_(db), has_reputation_(has_reputation) {}

  // Reads rowids in (lo, hi]. false: the range could not be read whole
  // (rows read before the error are discarded by the caller's retry).
  bool read_range(std::int64_t lo, std::int64_t hi, Salvage& out, std::size_t max_rows, bool* any) {
    const std::string sql = std::string("SELECT peer_id, multiaddr, first_seen, last_seen") +
                            (has_reputation_ ? ", reputation" : "") +
                            " FROM dht_peers WHERE rowid > ?1 AND rowid <= ?2";
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      return false;
    }
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    std::vector<SalvagedRow> rows;
    std::uint64_t skipped = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      *any = true;
      if (auto r = read_row(st, has_reputation_)) {
        rows.push_back(std::move(*r));
      } else {
        ++skipped;
      }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return false;
    out.skipped_rows += skipped;
    for (auto& r : rows) {
      if (out.rows.size() >= max_rows) break;
      out.rows.push_back(std::move(r));
    }
    return true;
  }

  // The first rowid after `after`: a seek down the table's b-tree, so gaps
  // left by deleted rows cost nothing. nullopt: the seek hit a damaged page;
  // 0: no more rows.
  std::optional<std::int64_t> next_rowid(std::int64_t after) {
    sqlite3_stmt* st = nullptr;
    std::optional<std::int64_t> v;
    if (sqlite3_prepare_v2(db_,
                           "SELECT rowid FROM dht_peers WHERE rowid > ?1 ORDER BY rowid LIMIT 1",
                           -1, &st, nullptr) == SQLITE_OK) {
      sqlite3_bind_int64(st, 1, after);
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
      if (rc == SQLITE_DONE) v = 0;
    }
    sqlite3_finalize(st);
    return v;
  }

 private:
  sqlite3* db_;
  bool has_reputation_;
};

bool has_column(sqlite3* db, const char* column) {
  sqlite3_stmt* st = nullptr;
  bool found = false;
  if (sqlite3_prepare_v2(db, "PRAGMA table_info(dht_peers)", -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
      if (name != nullptr && std::string_view(name) == column) found = true;
    }
  }
  sqlite3_finalize(st);
  return found;
}

}  // namespace

Salvage salvage_peer_rows(const std::filesystem::path& path, std::size_t max_rows) {
  Salvage out;
  sqlite3* db = nullptr;
  // Read-write without create, so a WAL left beside the file is replayed.
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  // Without a readable schema the table cannot even be named: nothing to do.
  sqlite3_stmt* probe = nullptr;
  const bool named = sqlite3_prepare_v2(db, "SELECT rowid FROM dht_peers LIMIT 0", -1, &probe,
                                        nullptr) == SQLITE_OK;
  sqlite3_finalize(probe);
  if (!named) {
    sqlite3_close(db);
    return out;
  }
  Reader reader(db, has_column(db, "reputation"));
  std::int64_t lo = 0;
  int failed_in_row = 0;
  while (out.rows.size() < max_rows && failed_in_row < kFailedRangesBeforeGivingUp) {
    const std::optional<std::int64_t> next = reader.next_rowid(lo);
    if (next && *next == 0) break;  // read to the end
    if (next) lo = *next - 1;
    const std::int64_t hi = lo + kRange;
    bool any = false;
    if (!reader.read_range(lo, hi, out, max_rows, &any)) {
      // Part of the range is on a damaged page: one rowid at a time.
      for (std::int64_t id = lo + 1; id <= hi && out.rows.size() < max_rows; ++id) {
        if (!reader.read_range(id - 1, id, out, max_rows, &any)) ++out.unreadable_rowids;
      }
    }
    failed_in_row = (next || any) ? 0 : failed_in_row + 1;
    lo = hi;
  }
  sqlite3_close(db);
  return out;
}

std::uint64_t restore_peer_rows(sqlite::Database& db, const std::vector<SalvagedRow>& rows,
                                std::int64_t now) {
  sqlite::Transaction tx(db);
  sqlite::Statement insert(db, R"(
    INSERT OR IGNORE INTO dht_peers (peer_id, multiaddr, first_seen, last_seen, reputation)
    VALUES (?1, ?2, ?3, ?4, ?5))");
  std::uint64_t n = 0;
  for (const auto& r : rows) {
    const std::int64_t last_seen = std::min(r.last_seen, now);
    insert.bind(1, r.peer_id)
        .bind(2, r.multiaddr)
        .bind(3, std::min(r.first_seen, last_seen))
        .bind(4, last_seen)
        .bind(5, r.reputation)
        .run();
    n += static_cast<std::uint64_t>(db.changes());
  }
  tx.commit();
  return n;
}

}  // namespace mp::storage

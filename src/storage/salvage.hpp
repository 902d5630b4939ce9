// Salvage: reads what can still be read from a damaged dht.db, row by row,
// before the file is set aside. SQLite's .recover lives in the sqlite3
// shell, not in the C API, so this does the part we need by hand: dht_peers
// is a rowid table, read in rowid ranges; a range that fails is read again
// one rowid at a time, so only the rows on damaged pages are lost.
//
// Cost bound: at most max_rows rows kept; a b-tree seek and one query per
// 256 rowids that exist (gaps are skipped by the seek); one query per rowid
// only inside ranges that failed; it stops after 256 ranges in a row that
// could neither be sought nor read (about 66,000 failed queries at most), and
// at once when the table cannot even be named (the schema page is gone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/sqlite.hpp"

namespace mp::storage {

struct SalvagedRow {
  std::string peer_id;
  std::string multiaddr;
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
  double reputation = 1.0;
};

struct Salvage {
  std::vector<SalvagedRow> rows;
  std::uint64_t unreadable_rowids = 0;  // probed one by one and failed
  std::uint64_t skipped_rows = 0;       // read, but not a usable record (types)
};

// Never throws: a file SQLite cannot open at all yields no rows.
Salvage salvage_peer_rows(const std::filesystem::path& db, std::size_t max_rows);

// Inserts salvaged rows into the (fresh) peer table of `db`, last_seen
// clamped to `now`; returns how many were inserted. Throws SqliteError.
std::uint64_t restore_peer_rows(sqlite::Database& db, const std::vector<SalvagedRow>& rows,
                                std::int64_t now);

}  // namespace mp::storage

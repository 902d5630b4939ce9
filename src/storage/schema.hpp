// The dht_peers schema and its migrations, versioned with PRAGMA user_version.
//
// Version 1 is the seed design's schema verbatim (table dht_peers, primary
// key (peer_id, multiaddr), index idx_last_seen), so every sqlite3 query of
// the seed works on our file. Later versions only add columns with defaults
// (never rename or drop), so those queries keep working:
//   1: CREATE TABLE dht_peers (...) + CREATE INDEX idx_last_seen  (the seed)
//   2: ALTER TABLE dht_peers ADD COLUMN reputation REAL NOT NULL DEFAULT 1.0
//      (the seed's "future improvement" 3, peer reputation)
// A database written by the seed has user_version 0 and the version-1
// table; migrating it keeps every row.
#pragma once

#include <cstdint>

#include "storage/sqlite.hpp"

namespace mp::storage {

inline constexpr std::int64_t kSchemaVersion = 2;

// Brings `db` to kSchemaVersion, each step in its own transaction. Returns
// the version found before migrating. Throws sqlite::SqliteError, and
// std::runtime_error for a database from a newer release (user_version
// above kSchemaVersion): we refuse rather than guess.
std::int64_t migrate(sqlite::Database& db);

// Reads PRAGMA user_version.
std::int64_t schema_version(sqlite::Database& db);

}  // namespace mp::storage

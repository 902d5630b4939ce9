#include "storage/schema.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <string>

namespace mp::storage {
namespace {

// The seed design's DDL, character for character (STORAGE_SQLITE.md).
constexpr const char* kSeedTable = R"(CREATE TABLE IF NOT EXISTS dht_peers (
    peer_id TEXT NOT NULL,
    multiaddr TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (peer_id, multiaddr)
))";
constexpr const char* kSeedIndex = "CREATE INDEX IF NOT EXISTS idx_last_seen ON dht_peers(last_seen)";

bool has_column(sqlite::Database& db, const char* table, const char* column) {
  sqlite::Statement st(db, std::string("PRAGMA table_info(") + table + ")");
  while (st.step()) {
    if (st.column_text(1) == column) return true;
  }
  return false;
}

void set_version(sqlite::Database& db, std::int64_t v) {
  db.exec("PRAGMA user_version = " + std::to_string(v));
}

}  // namespace

std::int64_t schema_version(sqlite::Database& db) { return db.query_int("PRAGMA user_version"); }

std::int64_t migrate(sqlite::Database& db) {
  const std::int64_t found = schema_version(db);
  if (found > kSchemaVersion) {
    throw std::runtime_error("dht.db has schema version " + std::to_string(found) +
                             ", newer than this release understands (" +
                             std::to_string(kSchemaVersion) + "); refusing to touch it");
  }
  std::int64_t v = found;
  if (v < 1) {
    // Also the path for a seed-written file: IF NOT EXISTS keeps its table.
    sqlite::Transaction tx(db);
    db.exec(kSeedTable);
    db.exec(kSeedIndex);
    set_version(db, 1);
    tx.commit();
    v = 1;
  }
  if (v < 2) {
    sqlite::Transaction tx(db);
    // An operator may have run the seed's own suggested ALTER TABLE by hand.
    if (!has_column(db, "dht_peers", "reputation")) {
      db.exec("ALTER TABLE dht_peers ADD COLUMN reputation REAL NOT NULL DEFAULT 1.0");
    } else {
      // That column allows NULL; our arithmetic on it must not see one.
      db.exec("UPDATE dht_peers SET reputation = 1.0 WHERE reputation IS NULL");
    }
    set_version(db, 2);
    tx.commit();
    v = 2;
  }
  if (found != v) spdlog::info("dht.db schema migrated from version {} to {}", found, v);
  return found;
}

}  // namespace mp::storage

#include "storage/pg_schema.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

namespace mp::storage {
namespace {

// Any constant both a fleet's nodes agree on: "mepassa dht_peers" in ASCII.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7310302414779020915)";

std::int64_t read_version(pqxx::transaction_base& tx) {
  pqxx::result exists = tx.exec("SELECT to_regclass('dht_schema') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return 0;
  pqxx::result r = tx.exec("SELECT COALESCE(MAX(version), 0) FROM dht_schema");
  return r[0][0].as<std::int64_t>();
}

void set_version(pqxx::transaction_base& tx, std::int64_t v) {
  tx.exec("DELETE FROM dht_schema");
  tx.exec("INSERT INTO dht_schema (version) VALUES (" + std::to_string(v) + ")");
}

}  // namespace

std::int64_t pg_schema_version(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn);
  return read_version(tx);
}

std::int64_t pg_migrate(pqxx::connection& conn) {
  std::int64_t found = -1;
  for (std::int64_t step = 1; step <= kPgSchemaVersion; ++step) {
    pqxx::work tx(conn);
    tx.exec(kMigrationLock);  // another node may be migrating: wait, then re-read
    const std::int64_t v = read_version(tx);
    if (found < 0) found = v;
    if (v > kPgSchemaVersion) {
      throw std::runtime_error("dht_peers has schema version " + std::to_string(v) +
                               ", newer than this release understands (" +
                               std::to_string(kPgSchemaVersion) + "); refusing to touch it");
    }
    if (v >= step) continue;
    switch (step) {
      case 1:
        // IF NOT EXISTS: a table made by hand from the seed's DDL is kept.
        tx.exec("CREATE TABLE IF NOT EXISTS dht_schema (version BIGINT NOT NULL)");
        tx.exec(R"(CREATE TABLE IF NOT EXISTS dht_peers (
            peer_id TEXT NOT NULL,
            multiaddr TEXT NOT NULL,
            first_seen BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            PRIMARY KEY (peer_id, multiaddr)))");
        tx.exec("CREATE INDEX IF NOT EXISTS idx_last_seen ON dht_peers(last_seen)");
        break;
      case 2:
        tx.exec("ALTER TABLE dht_peers ADD COLUMN IF NOT EXISTS reputation DOUBLE PRECISION "
                "NOT NULL DEFAULT 1.0");
        break;
      case 3:
        tx.exec("CREATE SEQUENCE IF NOT EXISTS dht_peers_change_seq");
        tx.exec("ALTER TABLE dht_peers ADD COLUMN IF NOT EXISTS seen_by TEXT NOT NULL DEFAULT ''");
        // A volatile default: existing rows get distinct numbers (the table
        // is rewritten once).
        tx.exec("ALTER TABLE dht_peers ADD COLUMN IF NOT EXISTS change_seq BIGINT NOT NULL "
                "DEFAULT nextval('dht_peers_change_seq')");
        tx.exec("ALTER SEQUENCE dht_peers_change_seq OWNED BY dht_peers.change_seq");
        tx.exec("CREATE INDEX IF NOT EXISTS idx_change_seq ON dht_peers(change_seq)");
        break;
      case 4:
        // Fleet membership (fleet/pg_fleet.hpp): one row per bootstrap node.
        tx.exec(R"(CREATE TABLE IF NOT EXISTS bootstrap_nodes (
            peer_id TEXT PRIMARY KEY,
            addrs TEXT NOT NULL DEFAULT '',
            version TEXT NOT NULL DEFAULT '',
            heartbeat_ms BIGINT NOT NULL,
            started_ms BIGINT NOT NULL))");
        break;
      default:
        break;
    }
    set_version(tx, step);
    tx.commit();
  }
  if (found != kPgSchemaVersion) {
    spdlog::info("dht_peers schema (PostgreSQL) migrated from version {} to {}", found,
                 kPgSchemaVersion);
  }
  return found;
}

}  // namespace mp::storage

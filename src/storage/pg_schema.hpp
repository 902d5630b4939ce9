// The dht_peers schema on PostgreSQL and its migrations, versioned in the
// one-row table dht_schema (PostgreSQL has no PRAGMA user_version).
//
// Same columns as the SQLite file (schema.hpp) so the seed's queries and
// the operator's habits carry over, times as BIGINT Unix seconds:
//   1: dht_peers (peer_id, multiaddr, first_seen, last_seen, PRIMARY KEY
//      (peer_id, multiaddr)) + idx_last_seen            (the seed)
//   2: reputation DOUBLE PRECISION NOT NULL DEFAULT 1.0
//   3: seen_by TEXT (the Peer ID of the node that last wrote the row) and
//      change_seq BIGINT from the sequence dht_peers_change_seq, set anew by
//      every upsert and reputation change (not by the local reputation
//      ageing of maintenance), indexed: "rows changed since N" for the
//      fleet pulls (fleet/pg_fleet.hpp).
//   4: bootstrap_nodes (peer_id TEXT PRIMARY KEY, addrs TEXT, version TEXT,
//      heartbeat_ms BIGINT, started_ms BIGINT): fleet membership, times in
//      the database's clock.
// Each step runs in its own transaction under an advisory lock, so nodes of
// a fleet starting together migrate once. A newer version is refused.
#pragma once

#include <cstdint>

#include <pqxx/connection>  // libpqxx 6.4: pqxx::connection is a typedef

namespace mp::storage {

inline constexpr std::int64_t kPgSchemaVersion = 4;

// Brings the database to kPgSchemaVersion; returns the version found.
// Throws pqxx errors, and std::runtime_error for a newer schema.
std::int64_t pg_migrate(pqxx::connection& conn);

// 0 when there is no dht_schema table yet.
std::int64_t pg_schema_version(pqxx::connection& conn);

}  // namespace mp::storage

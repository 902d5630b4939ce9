#include "storage/pg_peers_command.hpp"

#include <chrono>
#include <pqxx/pqxx>

#include "storage/pg_peer_store.hpp"
#include "storage/pg_schema.hpp"

namespace mp::storage {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The fleet (fleet/pg_fleet.hpp): each member's heartbeat age on the
// database's clock and the rows it last wrote (seen_by). Alive as the nodes
// count it (fleet::is_alive): a heartbeat within `alive` milliseconds.
void fleet(pqxx::transaction_base& tx, std::int64_t alive_ms, std::ostream& out) {
  constexpr int kMaxListed = 100;
  pqxx::result r = tx.exec(R"(
    SELECT b.peer_id, b.version,
           ((extract(epoch from clock_timestamp()) * 1000)::bigint - b.heartbeat_ms) / 1000,
           COALESCE(c.n, 0)
    FROM bootstrap_nodes b
    LEFT JOIN (SELECT seen_by, COUNT(*) AS n FROM dht_peers GROUP BY seen_by) c ON c.seen_by = b.peer_id
    ORDER BY b.heartbeat_ms DESC, b.peer_id LIMIT )" + std::to_string(kMaxListed + 1));
  // Counted in milliseconds over every row, not from the listed ages.
  const auto alive = tx.exec_params(R"(
    SELECT COUNT(*) FROM bootstrap_nodes
    WHERE (extract(epoch from clock_timestamp()) * 1000)::bigint - heartbeat_ms <= $1)",
                                    alive_ms)[0][0]
                         .as<std::int64_t>();
  const auto known = tx.exec("SELECT COUNT(*) FROM bootstrap_nodes")[0][0].as<std::int64_t>();
  out << "fleet members:   " << alive << " alive, " << known
      << " known (alive: a heartbeat in the last " << alive_ms / 1000 << " s)\n";
  int listed = 0;
  for (const auto& row : r) {
    if (++listed > kMaxListed) {
      out << "  ... (" << known - kMaxListed << " more)\n";
      break;
    }
    out << "  " << row[0].c_str() << "  heartbeat " << row[2].c_str() << " s ago  version "
        << row[1].c_str() << "  seen_by " << row[3].c_str() << " rows\n";
  }
}

int stats(pqxx::connection& c, const std::string& where, std::int64_t alive_ms,
          std::ostream& out) {
  const std::int64_t version = pg_schema_version(c);
  pqxx::read_transaction tx(c);
  const auto size = tx.exec("SELECT pg_total_relation_size('dht_peers')")[0][0].as<std::int64_t>();
  out << "database:        " << where << " (" << size << " bytes, schema version " << version
      << ")\n";
  const std::int64_t now = unix_now();
  pqxx::row t = tx.exec_params(R"(
    SELECT COUNT(*), COALESCE(SUM(n), 0), COUNT(*) FILTER (WHERE newest < $1) FROM (
      SELECT COUNT(*) AS n, MAX(last_seen) AS newest FROM dht_peers GROUP BY peer_id) t)",
                               now - 24 * 60 * 60)[0];
  out << "total peers:     " << t[0].c_str() << "\n"
      << "total addresses: " << t[1].c_str() << "\n"
      << "stale peers:     " << t[2].c_str() << " (not seen in the last 24h)\n";
  // The seed's "count by age" grouping, on addresses.
  pqxx::row a = tx.exec_params(R"(
    SELECT COUNT(*) FILTER (WHERE last_seen > $1 - 86400),
           COUNT(*) FILTER (WHERE last_seen <= $1 - 86400 AND last_seen > $1 - 7 * 86400),
           COUNT(*) FILTER (WHERE last_seen <= $1 - 7 * 86400),
           COALESCE(to_char(to_timestamp(MIN(first_seen)) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '-'),
           COALESCE(to_char(to_timestamp(MAX(last_seen)) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '-'),
           COALESCE(to_char(MIN(reputation), 'FM990.0'), '-'),
           COALESCE(to_char(AVG(reputation), 'FM990.00'), '-'),
           COALESCE(to_char(MAX(reputation), 'FM990.0'), '-'),
           COALESCE(MAX(change_seq), 0)
    FROM dht_peers)",
                               now)[0];
  out << "addresses seen:  " << a[0].c_str() << " last 24h, " << a[1].c_str() << " last week, "
      << a[2].c_str() << " older\n"
      << "first seen:      " << a[3].c_str() << " UTC (oldest)\n"
      << "last seen:       " << a[4].c_str() << " UTC (newest)\n"
      << "reputation:      min " << a[5].c_str() << ", avg " << a[6].c_str() << ", max "
      << a[7].c_str() << "\n"
      << "last change:     " << a[8].c_str() << " (change_seq)\n";
  if (version >= 4) fleet(tx, alive_ms, out);
  return 0;
}

int list(pqxx::connection& c, std::int64_t limit, std::ostream& out) {
  pqxx::read_transaction tx(c);
  const std::string lim = limit == 0 ? "ALL" : std::to_string(limit);
  pqxx::result r = tx.exec(R"(
    SELECT peer_id, multiaddr, to_char(reputation, 'FM990.0'),
           to_char(to_timestamp(first_seen) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
           to_char(to_timestamp(last_seen) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), seen_by
    FROM dht_peers ORDER BY reputation DESC, last_seen DESC LIMIT )" + lim);
  out << "peer_id\tmultiaddr\treputation\tfirst_seen (UTC)\tlast_seen (UTC)\tseen_by\n";
  for (const auto& row : r) {
    out << row[0].c_str() << '\t' << row[1].c_str() << '\t' << row[2].c_str() << '\t'
        << row[3].c_str() << '\t' << row[4].c_str() << '\t' << row[5].c_str() << '\n';
  }
  out << "(" << r.size() << " rows)\n";
  return 0;
}

int gc(pqxx::connection& c, std::int64_t max_age, std::ostream& out) {
  // The node's rule (PgPeerStore::collect_rows): too old or more than a day
  // ahead of our clock.
  pqxx::work tx(c);
  const std::int64_t now = unix_now();
  const auto n = tx.exec_params("DELETE FROM dht_peers WHERE last_seen < $1 OR last_seen > $2",
                                now - max_age, now + 24 * 60 * 60)
                     .affected_rows();
  tx.commit();
  out << "Cleaned up " << n << " stale peer records (older than " << max_age << "s)\n";
  return 0;
}

}  // namespace

int run_pg_peers_command(const std::string& cmd, std::int64_t limit, std::int64_t max_age,
                         const std::string& database_url, std::chrono::milliseconds fleet_alive,
                         std::ostream& out, std::ostream& err) {
  const std::string where = redact_database_url(database_url);
  try {
    pqxx::connection c(database_url);
    if (pg_schema_version(c) == 0) {
      err << "no peer store at " << where << " (no dht_schema table; is DATABASE_URL right?)\n";
      return 1;
    }
    if (cmd == "stats") return stats(c, where, fleet_alive.count(), out);
    if (cmd == "list") return list(c, limit, out);
    return gc(c, max_age, out);
  } catch (const std::exception& e) {
    err << "peers " << cmd << ": " << where << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace mp::storage

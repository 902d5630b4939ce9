#include "storage/peers_command.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "storage/pg_peers_command.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite.hpp"

namespace mp::storage {
namespace {

constexpr std::int64_t kDefaultMaxAgeSecs = 7 * 24 * 60 * 60;
constexpr int kBusyTimeoutMs = 5'000;

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Reads "--name N" from args[1..]; false on a malformed or unknown option.
bool read_option(const std::vector<std::string>& args, std::string_view name, std::int64_t& value,
                 std::ostream& err) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == name && i + 1 < args.size()) {
      auto v = parse_int(args[i + 1]);
      if (!v) {
        err << "peers: " << name << " needs a non-negative integer, got '" << args[i + 1] << "'\n";
        return false;
      }
      value = *v;
      ++i;
    } else {
      err << "peers " << args[0] << ": unknown argument '" << args[i] << "'\n";
      return false;
    }
  }
  return true;
}

bool has_reputation(sqlite::Database& db) {
  sqlite::Statement st(db, "PRAGMA table_info(dht_peers)");
  while (st.step()) {
    if (st.column_text(1) == "reputation") return true;
  }
  return false;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int stats(sqlite::Database& db, const std::filesystem::path& path, std::ostream& out) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  out << "database:        " << path.string() << " (" << (ec ? 0 : size) << " bytes, schema version "
      << schema_version(db) << ")\n";
  const std::int64_t now = unix_now();
  sqlite::Statement totals(db, R"(
    SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(SUM(newest < ?1), 0) FROM (
      SELECT COUNT(*) AS n, MAX(last_seen) AS newest FROM dht_peers GROUP BY peer_id))");
  totals.bind(1, now - 24 * 60 * 60);
  totals.step();
  out << "total peers:     " << totals.column_int(0) << "\n"
      << "total addresses: " << totals.column_int(1) << "\n"
      << "stale peers:     " << totals.column_int(2) << " (not seen in the last 24h)\n";
  // The seed's "count by age" grouping, on addresses.
  sqlite::Statement ages(db, R"(
    SELECT COALESCE(SUM(last_seen > ?1 - 86400), 0),
           COALESCE(SUM(last_seen <= ?1 - 86400 AND last_seen > ?1 - 7 * 86400), 0),
           COALESCE(SUM(last_seen <= ?1 - 7 * 86400), 0),
           COALESCE(datetime(MIN(first_seen), 'unixepoch'), '-'),
           COALESCE(datetime(MAX(last_seen), 'unixepoch'), '-')
    FROM dht_peers)");
  ages.bind(1, now);
  ages.step();
  out << "addresses seen:  " << ages.column_int(0) << " last 24h, " << ages.column_int(1)
      << " last week, " << ages.column_int(2) << " older\n"
      << "first seen:      " << ages.column_text(3) << " UTC (oldest)\n"
      << "last seen:       " << ages.column_text(4) << " UTC (newest)\n";
  if (has_reputation(db)) {
    sqlite::Statement rep(db, R"(
      SELECT COALESCE(printf('%.1f', MIN(reputation)), '-'), COALESCE(printf('%.2f', AVG(reputation)), '-'),
             COALESCE(printf('%.1f', MAX(reputation)), '-')
      FROM dht_peers)");
    rep.step();
    out << "reputation:      min " << rep.column_text(0) << ", avg " << rep.column_text(1)
        << ", max " << rep.column_text(2) << "\n";
  }
  return 0;
}

int list(sqlite::Database& db, std::int64_t limit, std::ostream& out) {
  const std::string rep = has_reputation(db) ? "reputation" : "1.0";
  sqlite::Statement st(db, "SELECT peer_id, multiaddr, printf('%.1f', " + rep +
                               "), datetime(first_seen, 'unixepoch'), "
                               "datetime(last_seen, 'unixepoch') FROM dht_peers ORDER BY " +
                               rep + " DESC, last_seen DESC LIMIT ?1");
  st.bind(1, limit == 0 ? std::int64_t{-1} : limit);
  out << "peer_id\tmultiaddr\treputation\tfirst_seen (UTC)\tlast_seen (UTC)\n";
  std::int64_t n = 0;
  while (st.step()) {
    out << st.column_text(0) << '\t' << st.column_text(1) << '\t' << st.column_text(2) << '\t'
        << st.column_text(3) << '\t' << st.column_text(4) << '\n';
    ++n;
  }
  out << "(" << n << " rows)\n";
  return 0;
}

int gc(sqlite::Database& db, std::int64_t max_age, std::ostream& out) {
  // The node's rule (SqlitePeerStore's collect): too old, more than a day
  // ahead of our clock, or not a time at all.
  sqlite::Statement st(db, R"(
    DELETE FROM dht_peers
    WHERE last_seen < ?1 OR last_seen > ?2 OR typeof(last_seen) != 'integer')");
  const std::int64_t now = unix_now();
  st.bind(1, now - max_age).bind(2, now + 24 * 60 * 60).run();
  out << "Cleaned up " << db.changes() << " stale peer records (older than " << max_age << "s)\n";
  return 0;
}

}  // namespace

int run_peers_command(const std::vector<std::string>& all_args, const std::string& data_dir,
                      std::ostream& out, std::ostream& err, const std::string& database_url,
                      std::chrono::milliseconds fleet_alive) {
  std::vector<std::string> args = all_args;
  if (!args.empty() && args.front() == "peers") args.erase(args.begin());
  if (args.empty() || (args[0] != "stats" && args[0] != "list" && args[0] != "gc")) {
    err << "usage: peers stats | peers list [--limit N] | peers gc [--max-age-secs N]\n";
    return 2;
  }
  const std::string& cmd = args[0];
  std::int64_t limit = 50;
  std::int64_t max_age = kDefaultMaxAgeSecs;
  if (cmd == "stats" && args.size() > 1) {
    err << "peers stats takes no arguments\n";
    return 2;
  }
  if (cmd == "list" && !read_option(args, "--limit", limit, err)) return 2;
  if (cmd == "gc" && !read_option(args, "--max-age-secs", max_age, err)) return 2;
  if (!database_url.empty()) {
    return run_pg_peers_command(cmd, limit, max_age, database_url, fleet_alive, out, err);
  }

  const std::filesystem::path path = std::filesystem::path(data_dir) / "dht.db";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    err << "no peer store at " << path.string() << " (is DATA_DIR right?)\n";
    return 1;
  }
  try {
    sqlite::Database db(path.string(), cmd == "gc" ? sqlite::Database::Mode::kReadWrite
                                                   : sqlite::Database::Mode::kReadOnly);
    db.set_busy_timeout(kBusyTimeoutMs);
    if (cmd == "stats") return stats(db, path, out);
    if (cmd == "list") return list(db, limit, out);
    return gc(db, max_age, out);
  } catch (const std::exception& e) {
    err << "peers " << cmd << ": " << path.string() << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace mp::storage

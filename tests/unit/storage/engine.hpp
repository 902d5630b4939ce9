// PeerStoreEngines: a GoogleTest fixture parameterised over the storage
// engine, so the behaviour both engines share is tested once, on a real
// SQLite file and on a real PostgreSQL server (pg_server.hpp).
//
// Tests build an SqlitePeerStoreConfig through test_config() (the knobs the
// engines share: clock, batch, queue, caps, GC age) and open() turns it into
// the engine's own configuration. query_int/query_double read the table
// straight from the database, not through the store.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "pg_server.hpp"
#include "storage/pg_peer_store.hpp"
#include "test_util.hpp"

namespace mp::storage::test {

enum class Engine { kSqlite, kPostgres };

inline std::string engine_name(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "Sqlite" : "Postgres";
}
// For GoogleTest's messages and ctest's test names.
inline void PrintTo(Engine e, std::ostream* os) { *os << (e == Engine::kSqlite ? "Sqlite" : "Postgres"); }

inline PgPeerStoreConfig pg_config(const SqlitePeerStoreConfig& c, const std::string& url) {
  PgPeerStoreConfig p;
  p.url = url;
  p.seen_by = "12D3KooWTestNodeSeenBy";
  p.batch = BatchSettings{c.queue_capacity, c.batch_max_rows, c.batch_interval,
                          c.retry_interval, c.peer_max_age_secs, c.clock};
  p.stale_after_secs = c.stale_after_secs;
  p.max_addrs_per_peer = c.max_addrs_per_peer;
  p.max_rows = c.max_rows;
  return p;
}

class PeerStoreEngines : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) url_ = PgServer::shared().create_database();
  }
  bool is_sqlite() const { return GetParam() == Engine::kSqlite; }
  const std::string& url() const { return url_; }

  SqlitePeerStoreConfig test_config(const FakeClock* clock = nullptr) const {
    return mp::storage::test::test_config(dir_, clock);
  }
  std::unique_ptr<PeerStore> open(const SqlitePeerStoreConfig& c) const {
    if (is_sqlite()) return open_store(c);
    auto s = PgPeerStore::open(pg_config(c, url_));
    if (!s) throw std::runtime_error("open failed: " + s.message());
    return std::move(*s);
  }
  std::int64_t query_int(const std::string& sql) const {
    if (is_sqlite()) return mp::storage::test::query_int(dir_.db(), sql);
    const std::string v = PgServer::shared().query(url_, sql);
    return v.empty() ? -1 : std::stoll(v);
  }
  double query_double(const std::string& sql) const {
    if (is_sqlite()) return mp::storage::test::query_double(dir_.db(), sql);
    const std::string v = PgServer::shared().query(url_, sql);
    return v.empty() ? -1 : std::stod(v);
  }
  std::int64_t count_rows() const { return query_int("SELECT COUNT(*) FROM dht_peers"); }

 private:
  TempDir dir_;
  std::string url_;
};

}  // namespace mp::storage::test

// The seed design's own tests (STORAGE_SQLITE.md, "Como Testar"), run with
// the real /usr/bin/sqlite3 on our file, and migration from a database the
// seed wrote.
#include <gtest/gtest.h>

#include "storage/schema.hpp"
#include "storage/sqlite_peer_store.hpp"
#include "test_util.hpp"

namespace mp::storage {
namespace {

using test::count_rows;
using test::LogCapture;
using test::open_store;
using test::query_double;
using test::query_int;
using test::sh;
using test::sqlite3_cli;
using test::test_addr;
using test::test_config;
using test::test_peer;
using test::TempDir;

// Real clock: the seed's queries use strftime('%s', 'now').
SqlitePeerStoreConfig real_time_config(const TempDir& dir) { return test_config(dir); }

// Seed test 1: persistence across restarts.
TEST(SeedCompat, Test1PeersSurviveARestart) {
  TempDir dir;
  {
    auto store = open_store(real_time_config(dir));
    // 5 peers with 8 addresses, as in the seed's expected log.
    std::uint32_t a = 0;
    for (std::uint32_t p = 0; p < 5; ++p) {
      for (std::uint32_t k = 0; k < (p < 3 ? 2u : 1u); ++k) ASSERT_TRUE(store->add_peer(test_peer(p), test_addr(a++)));
    }
    ASSERT_EQ(a, 8u);
  }  // Ctrl+C: close() writes everything
  LogCapture log;
  auto store = open_store(real_time_config(dir));
  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  EXPECT_EQ(peers->size(), 5u);
  EXPECT_NE(log.text().find("Loaded 5 peers with 8 addresses from storage"), std::string::npos) << log.text();
  auto r = sqlite3_cli(dir.db(), "SELECT COUNT(*) FROM dht_peers");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "8\n");
}

// Seed test 2: garbage collection of a fake 30-day-old row, inserted with
// the seed's exact command (heredoc included), then a restart.
TEST(SeedCompat, Test2GarbageCollectionOfAThirtyDayOldRow) {
  TempDir dir;
  auto store = open_store(real_time_config(dir));
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->flush());

  // While the node runs (WAL lets the operator write beside it).
  auto r = sh("sqlite3 " + dir.db().string() + " <<EOF\n"
              "INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen)\n"
              "VALUES ('fake_peer', '/ip4/1.2.3.4/tcp/4001',\n"
              "        strftime('%s', 'now', '-30 days'),\n"
              "        strftime('%s', 'now', '-30 days'));\n"
              "EOF");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count_rows(dir), 2);
  ASSERT_TRUE(store->close());

  LogCapture log;
  store = open_store(real_time_config(dir));
  EXPECT_NE(log.text().find("Cleaned up 1 stale peer records (older than 604800s)"), std::string::npos)
      << log.text();
  EXPECT_EQ(count_rows(dir), 1);
  EXPECT_EQ(query_int(dir.db(), "SELECT COUNT(*) FROM dht_peers WHERE peer_id = 'fake_peer'"), 0);
}

// Seed test 3 and the inspection queries of "Histórico de Peers" and
// "Fácil Debugging", verbatim, on our file.
TEST(SeedCompat, Test3SchemaAndInspectionQueriesWorkVerbatim) {
  TempDir dir;
  auto store = open_store(real_time_config(dir));
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(2)));
  ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(3)));
  ASSERT_TRUE(store->flush());
  const std::string p1 = test_peer(1).to_base58(), p2 = test_peer(2).to_base58();
  const std::string db = dir.db().string();

  auto schema = sh("sqlite3 " + db + " \".schema\"");
  ASSERT_EQ(schema.status, 0) << schema.output;
  for (const char* line : {"CREATE TABLE dht_peers (", "    peer_id TEXT NOT NULL,",
                           "    multiaddr TEXT NOT NULL,", "    first_seen INTEGER NOT NULL,",
                           "    last_seen INTEGER NOT NULL,", "    PRIMARY KEY (peer_id, multiaddr)",
                           "reputation REAL NOT NULL DEFAULT 1.0",
                           "CREATE INDEX idx_last_seen ON dht_peers(last_seen);"}) {
    EXPECT_NE(schema.output.find(line), std::string::npos) << line << "\n" << schema.output;
  }

  auto all = sh("sqlite3 " + db + " \\\n  \"SELECT peer_id, multiaddr, datetime(last_seen, 'unixepoch') FROM dht_peers\"");
  ASSERT_EQ(all.status, 0) << all.output;
  EXPECT_NE(all.output.find(p1 + "|" + test_addr(1).to_string() + "|20"), std::string::npos) << all.output;

  auto per_peer = sh("sqlite3 " + db + " \\\n  \"SELECT peer_id, COUNT(*) as addr_count FROM dht_peers GROUP BY peer_id\"");
  ASSERT_EQ(per_peer.status, 0) << per_peer.output;
  EXPECT_NE(per_peer.output.find(p1 + "|2\n"), std::string::npos) << per_peer.output;
  EXPECT_NE(per_peer.output.find(p2 + "|1\n"), std::string::npos) << per_peer.output;

  // "Histórico de Peers" and "Fácil Debugging", fed on stdin as typed at the prompt.
  auto history = sh("sqlite3 " + db + " <<'EOF'\n"
                    "-- Ver peers mais antigos (confiáveis)\n"
                    "SELECT peer_id, datetime(first_seen, 'unixepoch') as joined\n"
                    "FROM dht_peers\n"
                    "ORDER BY first_seen ASC\n"
                    "LIMIT 10;\n"
                    "\n"
                    "-- Ver peers mais ativos (recently seen)\n"
                    "SELECT peer_id, datetime(last_seen, 'unixepoch') as last_active\n"
                    "FROM dht_peers\n"
                    "ORDER BY last_seen DESC\n"
                    "LIMIT 10;\n"
                    "EOF");
  ASSERT_EQ(history.status, 0) << history.output;
  EXPECT_NE(history.output.find(p2 + "|20"), std::string::npos) << history.output;

  auto debugging = sh("sqlite3 " + db + " <<'EOF'\n"
                      "SELECT peer_id, multiaddr, datetime(last_seen, 'unixepoch')\n"
                      "FROM dht_peers\n"
                      "ORDER BY last_seen DESC;\n"
                      "\n"
                      "SELECT\n"
                      "    CASE\n"
                      "        WHEN julianday('now') - julianday(last_seen, 'unixepoch') < 1 THEN 'last 24h'\n"
                      "        WHEN julianday('now') - julianday(last_seen, 'unixepoch') < 7 THEN 'last week'\n"
                      "        ELSE 'older'\n"
                      "    END as age_group,\n"
                      "    COUNT(*) as count\n"
                      "FROM dht_peers\n"
                      "GROUP BY age_group;\n"
                      "EOF");
  ASSERT_EQ(debugging.status, 0) << debugging.output;
  EXPECT_NE(debugging.output.find(test_addr(3).to_string()), std::string::npos) << debugging.output;
  EXPECT_NE(debugging.output.find("last 24h|3\n"), std::string::npos) << debugging.output;

  // The seed's reputation rule ("Peer Reputation"), verbatim, on our column.
  auto rep = sh("sqlite3 " + db + " <<'EOF'\n"
                "UPDATE dht_peers\n"
                "SET reputation = MIN(10.0, reputation + 0.1)\n"
                "WHERE julianday('now') - julianday(last_seen, 'unixepoch') < 1;\n"
                "EOF");
  ASSERT_EQ(rep.status, 0) << rep.output;
  EXPECT_NEAR(query_double(dir.db(), "SELECT MIN(reputation) FROM dht_peers"), 1.1, 1e-9);
}

// The seed's own DDL, as its storage.rs ran it.
constexpr const char* kSeedDdl =
    "PRAGMA journal_mode=WAL;\n"
    "CREATE TABLE dht_peers (\n"
    "    peer_id TEXT NOT NULL,\n"
    "    multiaddr TEXT NOT NULL,\n"
    "    first_seen INTEGER NOT NULL,\n"
    "    last_seen INTEGER NOT NULL,\n"
    "    PRIMARY KEY (peer_id, multiaddr)\n"
    ");\n"
    "\n"
    "CREATE INDEX idx_last_seen ON dht_peers(last_seen);\n";

TEST(SeedCompat, ADatabaseWrittenByTheSeedIsMigratedKeepingItsRows) {
  TempDir dir;
  const std::string p = test_peer(1).to_base58();
  auto r = sh("sqlite3 " + dir.db().string() + " <<'EOF'\n" + kSeedDdl +
              "INSERT INTO dht_peers VALUES ('" + p + "', '/ip4/1.2.3.4/tcp/4001', "
              "strftime('%s','now','-2 days'), strftime('%s','now'));\n"
              "INSERT INTO dht_peers VALUES ('" + p + "', '/ip4/1.2.3.4/udp/4001/quic-v1', "
              "strftime('%s','now','-3 days'), strftime('%s','now','-1 hours'));\n"
              "EOF");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(query_int(dir.db(), "PRAGMA user_version"), 0);
  const std::int64_t first_seen = query_int(dir.db(), "SELECT MIN(first_seen) FROM dht_peers");

  auto store = open_store(real_time_config(dir));
  EXPECT_EQ(query_int(dir.db(), "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(count_rows(dir), 2);
  EXPECT_EQ(query_int(dir.db(), "SELECT MIN(first_seen) FROM dht_peers"), first_seen);
  EXPECT_DOUBLE_EQ(query_double(dir.db(), "SELECT MIN(reputation) FROM dht_peers"), 1.0);
  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].addrs.size(), 2u);
  EXPECT_EQ((*peers)[0].addrs[0].to_string(), "/ip4/1.2.3.4/tcp/4001");  // most recent first
  // And it keeps working as ours.
  ASSERT_TRUE(store->record_dial_failure(test_peer(1)));
  ASSERT_TRUE(store->flush());
  EXPECT_DOUBLE_EQ(query_double(dir.db(), "SELECT MAX(reputation) FROM dht_peers"), 0.5);
}

TEST(SeedCompat, TheSeedsHandRunAlterTableIsAcceptedAndItsNullsRepaired) {
  TempDir dir;
  auto r = sh("sqlite3 " + dir.db().string() + " <<'EOF'\n" + kSeedDdl +
              "ALTER TABLE dht_peers ADD COLUMN reputation REAL DEFAULT 1.0;\n"
              "INSERT INTO dht_peers VALUES ('" + test_peer(1).to_base58() +
              "', '/ip4/1.2.3.4/tcp/4001', strftime('%s','now'), strftime('%s','now'), NULL);\n"
              "EOF");
  ASSERT_EQ(r.status, 0) << r.output;
  auto store = open_store(real_time_config(dir));
  EXPECT_EQ(query_int(dir.db(), "PRAGMA user_version"), kSchemaVersion);
  EXPECT_DOUBLE_EQ(query_double(dir.db(), "SELECT reputation FROM dht_peers"), 1.0);
}

TEST(SeedCompat, ADatabaseFromANewerReleaseIsRefusedUntouched) {
  TempDir dir;
  auto r = sqlite3_cli(dir.db(), "PRAGMA user_version = 99");
  ASSERT_EQ(r.status, 0) << r.output;
  auto store = SqlitePeerStore::open(real_time_config(dir));
  ASSERT_FALSE(store);
  EXPECT_NE(store.message().find("newer"), std::string::npos) << store.message();
  EXPECT_EQ(query_int(dir.db(), "PRAGMA user_version"), 99);
}

}  // namespace
}  // namespace mp::storage

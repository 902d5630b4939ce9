// PgPeerStore on a real PostgreSQL 15 server (pg_server.hpp): what only the
// PostgreSQL engine has (schema versions, seen_by and change_seq, outages,
// connections killed mid-batch, the password in DATABASE_URL, the seed's
// queries in PostgreSQL's dialect, `peers` commands). The behaviour both
// engines share is in peer_store_test.cpp.
#include <gtest/gtest.h>

#include <regex>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "engine.hpp"
#include "pg_server.hpp"
#include "storage/peers_command.hpp"
#include "storage/pg_peer_store.hpp"
#include "storage/pg_schema.hpp"
#include "test_util.hpp"

namespace mp::storage {
namespace {

using test::eventually;
using test::FakeClock;
using test::PgServer;
using test::test_addr;
using test::test_peer;

PgPeerStoreConfig config(const std::string& url, const FakeClock* clock = nullptr) {
  PgPeerStoreConfig c;
  c.url = url;
  c.seen_by = "12D3KooWSeenByThisNode";
  c.batch.batch_interval = std::chrono::hours(1);  // commits on flush or a full batch only
  c.batch.retry_interval = std::chrono::milliseconds(20);
  if (clock) c.batch.clock = clock->fn();
  return c;
}

std::unique_ptr<PgPeerStore> open(PgPeerStoreConfig c) {
  auto s = PgPeerStore::open(std::move(c));
  if (!s) throw std::runtime_error("open failed: " + s.message());
  return std::move(*s);
}

std::int64_t q(const std::string& url, const std::string& sql) {
  const std::string v = PgServer::shared().query(url, sql);
  return v.empty() ? -1 : std::stoll(v);
}

// Keeps the shared server running after a test that stops it fails midway.
struct RestartOnExit {
  ~RestartOnExit() {
    if (!PgServer::shared().running()) PgServer::shared().start();
  }
};

TEST(PgRedact, PasswordsAreReplacedInEveryForm) {
  EXPECT_EQ(redact_database_url("postgres://mp:hunter2@db.example:5432/mp"),
            "postgres://mp:***@db.example:5432/mp");
  EXPECT_EQ(redact_database_url("postgresql://mp@db/mp?password=hunter2&sslmode=require"),
            "postgresql://mp@db/mp?password=***&sslmode=require");
  EXPECT_EQ(redact_database_url("postgresql://mp:p%40ss@/mp?host=/run/pg"),
            "postgresql://mp:***@/mp?host=/run/pg");
  EXPECT_EQ(redact_database_url("postgresql:///mp?host=/run/pg"), "postgresql:///mp?host=/run/pg");
}

TEST(PgPeerStore, SchemaHasTheSeedColumnsReputationSeenByAndChangeSeq) {
  const std::string url = PgServer::shared().create_database();
  FakeClock clock;
  auto store = open(config(url, &clock));
  EXPECT_EQ(q(url, "SELECT version FROM dht_schema"), kPgSchemaVersion);
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(2)));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(PgServer::shared().query(url, "SELECT DISTINCT seen_by FROM dht_peers"),
            "12D3KooWSeenByThisNode");
  const std::int64_t before = q(url, "SELECT MAX(change_seq) FROM dht_peers");
  const std::string row = " FROM dht_peers WHERE peer_id = '" + test_peer(1).to_base58() + "'";
  const std::int64_t other = q(url, "SELECT change_seq FROM dht_peers WHERE peer_id = '" +
                                        test_peer(2).to_base58() + "'");
  // Every upsert and reputation change moves the row past every other change.
  clock.set(clock.now() + 10);
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->flush());
  const std::int64_t after_upsert = q(url, "SELECT change_seq" + row);
  EXPECT_GT(after_upsert, before);
  ASSERT_TRUE(store->record_dial_failure(test_peer(1)));
  ASSERT_TRUE(store->flush());
  EXPECT_GT(q(url, "SELECT change_seq" + row), after_upsert);
  // Untouched rows keep theirs: "changed since N" finds exactly the changed rows.
  EXPECT_EQ(q(url, "SELECT change_seq FROM dht_peers WHERE peer_id = '" + test_peer(2).to_base58() + "'"),
            other);
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM dht_peers WHERE change_seq > " + std::to_string(before)), 1);
  // One upsert statement per batch: 1,000 rows, one transaction, one round trip of upserts.
  for (std::uint32_t i = 0; i < 1000; ++i) ASSERT_TRUE(store->add_peer(test_peer(100 + i), test_addr(i)));
  const auto batches = store->counters().batches_committed;
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(store->counters().batches_committed, batches + 1);
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM dht_peers"), 1002);
}

TEST(PgPeerStore, AVersionOneDatabaseIsMigratedKeepingItsRows) {
  const std::string url = PgServer::shared().create_database();
  // The seed's table as a node of schema version 1 left it, with rows.
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    tx.exec("CREATE TABLE dht_schema (version BIGINT NOT NULL)");
    tx.exec("INSERT INTO dht_schema VALUES (1)");
    tx.exec(R"(CREATE TABLE dht_peers (peer_id TEXT NOT NULL, multiaddr TEXT NOT NULL,
               first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, PRIMARY KEY (peer_id, multiaddr)))");
    tx.exec("CREATE INDEX idx_last_seen ON dht_peers(last_seen)");
    for (int i = 1; i <= 3; ++i) {
      tx.exec("INSERT INTO dht_peers VALUES ('" + test_peer(static_cast<std::uint64_t>(i)).to_base58() +
              "', '" + test_addr(static_cast<std::uint32_t>(i)).to_string() + "', 1699999000, 1699999900)");
    }
    tx.commit();
  }
  FakeClock clock;
  test::LogCapture log;
  auto store = open(config(url, &clock));
  EXPECT_NE(log.text().find("migrated from version 1 to 4"), std::string::npos) << log.text();
  EXPECT_EQ(q(url, "SELECT version FROM dht_schema"), 4);
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM dht_peers WHERE reputation = 1.0 AND seen_by = ''"), 3);
  EXPECT_EQ(q(url, "SELECT COUNT(DISTINCT change_seq) FROM dht_peers"), 3);
  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  EXPECT_EQ(peers->size(), 3u);
  EXPECT_EQ((*peers)[0].last_seen, 1699999900);
}

TEST(PgPeerStore, ASchemaFromANewerReleaseIsRefused) {
  const std::string url = PgServer::shared().create_database();
  PgServer::shared().query(url, "CREATE TABLE dht_schema (version BIGINT NOT NULL)");
  PgServer::shared().query(url, "INSERT INTO dht_schema VALUES (99)");
  auto s = PgPeerStore::open(config(url));
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("newer than this release"), std::string::npos) << s.message();
  EXPECT_EQ(q(url, "SELECT version FROM dht_schema"), 99);
}

TEST(PgPeerStore, DownAtStartServesEmptyRetriesInTheBackgroundAndNeverLogsThePassword) {
  RestartOnExit restart;
  const std::string url = PgServer::shared().create_database();
  PgServer::shared().stop();
  test::LogCapture log;
  auto c = config(url);
  c.batch.queue_capacity = 100;
  auto store = open(c);  // the node starts
  EXPECT_FALSE(store->load_peers());  // ... with an empty table
  EXPECT_EQ(store->counters().failing, 1u);  // /health: DEGRADED
  for (std::uint32_t i = 0; i < 50; ++i) ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
  // The writer keeps trying on its own schedule, nothing queued or not.
  const auto failures = store->counters().write_failures;
  EXPECT_TRUE(eventually([&] { return store->counters().write_failures >= failures + 2; }));
  PgServer::shared().start();
  EXPECT_TRUE(eventually([&] { return store->counters().failing == 0; }));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM dht_peers"), 50);
  EXPECT_EQ(store->counters().rows_dropped, 0u);
  const std::string text = log.text();
  EXPECT_EQ(text.find(PgServer::kPassword), std::string::npos) << text;
  EXPECT_NE(text.find("postgres:***@"), std::string::npos) << text;
  EXPECT_NE(text.find("Reconnected"), std::string::npos) << text;
}

TEST(PgPeerStore, DownAtStartHandsTheStoredPeersOverOnceItIsBack) {
  RestartOnExit restart;
  const std::string url = PgServer::shared().create_database();
  {
    auto before = open(config(url));  // rows from an earlier run
    for (std::uint32_t i = 0; i < 20; ++i) ASSERT_TRUE(before->add_peer(test_peer(i), test_addr(i)));
    ASSERT_TRUE(before->close());
  }
  PgServer::shared().stop();
  auto store = open(config(url));
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  std::vector<StoredPeer> handed;
  store->set_deferred_load_handler([&](std::vector<StoredPeer> peers) {
    std::lock_guard lk(mu);
    ++calls;
    handed = std::move(peers);
    cv.notify_all();
  });
  EXPECT_FALSE(store->load_peers());  // the node starts with an empty table
  PgServer::shared().start();
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(20), [&] { return calls > 0; }));
    EXPECT_EQ(handed.size(), 20u);
  }
  // Once: later batches (and a flush) do not hand them over again.
  ASSERT_TRUE(store->add_peer(test_peer(99), test_addr(99)));
  ASSERT_TRUE(store->flush());
  ASSERT_TRUE(store->close());
  std::lock_guard lk(mu);
  EXPECT_EQ(calls, 1);
}

TEST(PgPeerStore, AStartThatLoadedNeverCallsTheDeferredHandler) {
  const std::string url = PgServer::shared().create_database();
  auto store = open(config(url));
  std::atomic<int> calls{0};
  store->set_deferred_load_handler([&](std::vector<StoredPeer>) { ++calls; });
  ASSERT_TRUE(store->load_peers());
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->flush());
  ASSERT_TRUE(store->close());
  EXPECT_EQ(calls.load(), 0);
}

TEST(PgPeerStore, DownWhileRunningQueuesUpToTheBoundCountsRefusalsAndLosesNothingElse) {
  RestartOnExit restart;
  const std::string url = PgServer::shared().create_database();
  auto c = config(url);
  c.batch.queue_capacity = 100;
  auto store = open(c);
  ASSERT_TRUE(store->add_peer(test_peer(1000), test_addr(1000)));
  ASSERT_TRUE(store->flush());
  PgServer::shared().stop();
  for (std::uint32_t i = 0; i < 40; ++i) ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
  EXPECT_FALSE(store->flush());  // the batch fails and goes back to the queue
  EXPECT_EQ(store->counters().failing, 1u);
  for (std::uint32_t i = 40; i < 110; ++i) store->add_peer(test_peer(i), test_addr(i));
  const auto counters = store->counters();
  EXPECT_EQ(counters.queue_full_refusals, 10u);  // the bound, counted
  EXPECT_EQ(counters.queue_depth, 100u);
  PgServer::shared().start();
  EXPECT_TRUE(eventually([&] { return store->counters().failing == 0; }));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM dht_peers"), 101);
  EXPECT_EQ(store->counters().rows_dropped, 0u);
}

TEST(PgPeerStore, AConnectionKilledMidBatchIsRetriedWhole) {
  const std::string url = PgServer::shared().create_database();
  auto c = config(url);
  std::atomic<int> kills{0};
  // Inside the batch's transaction, before COMMIT: the server kills our
  // backend (as an operator's pg_terminate_backend or a failover would).
  c.before_commit = [&](int pid) {
    if (kills.fetch_add(1) == 0) {
      PgServer::shared().query(PgServer::shared().url("postgres"),
                               "SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
    }
  };
  auto store = open(c);
  for (std::uint32_t i = 0; i < 500; ++i) ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
  ASSERT_TRUE(store->record_dial_failure(test_peer(7), test_addr(7)));
  EXPECT_FALSE(store->flush());  // the killed batch
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM dht_peers"), 0);  // nothing of it committed
  EXPECT_EQ(store->counters().queue_depth, 500u);  // all of it back in the queue
  EXPECT_TRUE(eventually([&] { return store->counters().failing == 0; }));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM dht_peers"), 500);
  // Applied once: one failure's penalty, not two.
  EXPECT_EQ(PgServer::shared().query(url, "SELECT reputation FROM dht_peers WHERE peer_id = '" +
                                              test_peer(7).to_base58() + "'"),
            "0.5");
  EXPECT_EQ(store->counters().rows_committed, 500u);
  EXPECT_GE(store->counters().write_failures, 1u);
}

TEST(PgPeerStore, TheSeedsInspectionQueriesRunInPostgresDialect) {
  const std::string url = PgServer::shared().create_database();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  FakeClock clock;
  clock.set(now - 3 * 86400);
  {
    auto store = open(config(url, &clock));
    ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));  // 3 days old
    clock.set(now - 3600);
    ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(2)));  // an hour old
    ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(3)));
  }
  // "Ver peers mais antigos (confiáveis)": oldest first.
  EXPECT_EQ(PgServer::shared().query(url, "SELECT peer_id FROM dht_peers ORDER BY first_seen ASC LIMIT 10"),
            test_peer(1).to_base58());
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM (SELECT peer_id, to_timestamp(first_seen) AS joined FROM dht_peers "
                   "ORDER BY first_seen ASC LIMIT 10) t"),
            3);
  // "Ver peers mais ativos": most recent first.
  EXPECT_EQ(PgServer::shared().query(url, "SELECT peer_id FROM dht_peers ORDER BY last_seen DESC LIMIT 10"),
            test_peer(2).to_base58());
  // "Contar peers por idade": julianday arithmetic becomes epoch arithmetic.
  const std::string by_age = R"(
    SELECT CASE WHEN extract(epoch FROM now()) - last_seen < 86400 THEN 'last 24h'
                WHEN extract(epoch FROM now()) - last_seen < 7 * 86400 THEN 'last week'
                ELSE 'older' END AS age_group, COUNT(*) AS count
    FROM dht_peers GROUP BY age_group)";
  EXPECT_EQ(q(url, "SELECT count FROM (" + by_age + ") t WHERE age_group = 'last 24h'"), 2);
  EXPECT_EQ(q(url, "SELECT count FROM (" + by_age + ") t WHERE age_group = 'last week'"), 1);
  // The seed's Test 1 check.
  EXPECT_EQ(q(url, "SELECT COUNT(*) FROM dht_peers"), 3);
}

TEST(PgPeerStore, PeersCommandsWorkOnPostgres) {
  const std::string url = PgServer::shared().create_database();
  {
    auto store = open(config(url));
    ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
    ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(2)));
    ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(3)));
    ASSERT_TRUE(store->record_dial_failure(test_peer(2)));
  }
  std::ostringstream out, err;
  ASSERT_EQ(run_peers_command({"stats"}, "/nonexistent", out, err, url), 0) << err.str();
  EXPECT_NE(out.str().find("total peers:     2\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("total addresses: 3\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("schema version 4"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find(PgServer::kPassword), std::string::npos);
  out.str("");
  ASSERT_EQ(run_peers_command({"list", "--limit", "2"}, "/nonexistent", out, err, url), 0) << err.str();
  EXPECT_NE(out.str().find("(2 rows)"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("\t1.0\t"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find(test_peer(2).to_base58()), std::string::npos);  // lowest reputation: beyond the limit
  out.str("");
  ASSERT_EQ(run_peers_command({"gc", "--max-age-secs", "0"}, "/nonexistent", out, err, url), 0);
  // A server that is not there: an error naming the redacted URL, exit 1.
  std::ostringstream err2;
  EXPECT_EQ(run_peers_command({"stats"}, "/nonexistent", out, err2,
                              "postgresql://u:" + std::string(PgServer::kPassword) + "@/x?host=/nonexistent"),
            1);
  EXPECT_EQ(err2.str().find(PgServer::kPassword), std::string::npos) << err2.str();
}

TEST(PgPeerStore, PeersStatsShowsTheFleetMembersAndWhatEachStored) {
  const std::string url = PgServer::shared().create_database();
  {
    auto a = open(config(url));  // seen_by 12D3KooWSeenByThisNode
    ASSERT_TRUE(a->add_peer(test_peer(1), test_addr(1)));
    ASSERT_TRUE(a->add_peer(test_peer(2), test_addr(2)));
    ASSERT_TRUE(a->flush());
    auto c = config(url);
    c.seen_by = "12D3KooWOtherMember";
    auto b = open(c);
    ASSERT_TRUE(b->add_peer(test_peer(3), test_addr(3)));
  }
  const std::string now_ms = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
  PgServer::shared().query(url, "INSERT INTO bootstrap_nodes VALUES ('12D3KooWSeenByThisNode', '', '0.1.0', " +
                                    now_ms + " - 2000, 0), ('12D3KooWOtherMember', '', '0.0.9', " + now_ms +
                                    " - 60000, 0)");
  std::ostringstream out, err;
  ASSERT_EQ(run_peers_command({"stats"}, "/nonexistent", out, err, url), 0) << err.str();
  const std::string s = out.str();
  EXPECT_NE(s.find("fleet members:   1 alive, 2 known"), std::string::npos) << s;
  // Ages in whole seconds on the database's clock (a slow machine may add one).
  EXPECT_TRUE(std::regex_search(
      s, std::regex("\n  12D3KooWSeenByThisNode  heartbeat [23] s ago  version 0\\.1\\.0  seen_by 2 rows\n")))
      << s;
  EXPECT_TRUE(std::regex_search(
      s, std::regex("\n  12D3KooWOtherMember  heartbeat 6[01] s ago  version 0\\.0\\.9  seen_by 1 rows\n")))
      << s;
  // The freshest heartbeat first.
  EXPECT_LT(s.find("12D3KooWSeenByThisNode  heartbeat"), s.find("12D3KooWOtherMember  heartbeat"));
}

// The alive window is the node's (fleet::is_alive: 3 heartbeats), read from
// the FLEET_HEARTBEAT_SECS the command runs with, not a fixed 15 s.
TEST(PgPeerStore, PeersStatsCountsMembersAliveByTheHeartbeatItIsGiven) {
  const std::string url = PgServer::shared().create_database();
  { auto a = open(config(url)); }
  const std::string now_ms = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
  PgServer::shared().query(url, "INSERT INTO bootstrap_nodes VALUES ('12D3KooWFresh', '', '0.1.0', " + now_ms +
                                    ", 0), ('12D3KooWThirtySecondsAgo', '', '0.1.0', " + now_ms +
                                    " - 30000, 0), ('12D3KooWTwoMinutesAgo', '', '0.1.0', " + now_ms +
                                    " - 120000, 0)");
  auto stats = [&](std::chrono::milliseconds alive) {
    std::ostringstream out, err;
    EXPECT_EQ(run_peers_command({"stats"}, "/nonexistent", out, err, url, alive), 0) << err.str();
    return out.str();
  };
  // FLEET_HEARTBEAT_SECS=20: alive within 60 s.
  std::string s = stats(std::chrono::seconds(3 * 20));
  EXPECT_NE(s.find("fleet members:   2 alive, 3 known (alive: a heartbeat in the last 60 s)"),
            std::string::npos)
      << s;
  // The default 5 s: within 15 s.
  s = stats(std::chrono::seconds(3 * 5));
  EXPECT_NE(s.find("fleet members:   1 alive, 3 known (alive: a heartbeat in the last 15 s)"),
            std::string::npos)
      << s;
  // FLEET_HEARTBEAT_SECS=60: within 180 s, all three.
  s = stats(std::chrono::seconds(3 * 60));
  EXPECT_NE(s.find("fleet members:   3 alive, 3 known"), std::string::npos) << s;
  // The call without a window keeps the default rule.
  std::ostringstream out, err;
  ASSERT_EQ(run_peers_command({"stats"}, "/nonexistent", out, err, url), 0) << err.str();
  EXPECT_NE(out.str().find("fleet members:   1 alive, 3 known"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace mp::storage

// Peer store hygiene on real SQLite files: rows from a wrong clock or typed
// by hand are collected or clamped, the WAL stays small through churn, the
// storage stats follow committed batches, and a damaged file keeps its
// readable rows.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <set>
#include <thread>

#include "storage/salvage.hpp"
#include "storage/sqlite_peer_store.hpp"
#include "test_util.hpp"

namespace mp::storage {
namespace {

using test::count_rows;
using test::eventually;
using test::FakeClock;
using test::LogCapture;
using test::open_store;
using test::query_double;
using test::query_int;
using test::TempDir;
using test::test_addr;
using test::test_config;
using test::test_peer;
namespace fs = std::filesystem;

// Runs SQL on a private read-write connection, as an operator's sqlite3
// would (values the node itself never writes).
void exec(const fs::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(h, 5000);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close_v2(h);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

std::string insert_row(const std::string& peer, const std::string& addr,
                       const std::string& last_seen) {
  return "INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES ('" + peer +
         "', '" + addr + "', 1, " + last_seen + ");";
}

std::int64_t rows_of(const TempDir& dir, const PeerId& p) {
  return query_int(dir.db(),
                   "SELECT COUNT(*) FROM dht_peers WHERE peer_id = '" + p.to_base58() + "'");
}

TEST(PeerStoreHygiene, FutureAndNonIntegerRowsAreCollectedAtStartAndByMaintenance) {
  TempDir dir;
  FakeClock clock;
  const std::int64_t t0 = clock.now();
  {
    auto store = open_store(test_config(dir, &clock));
    ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
    ASSERT_TRUE(store->close());
  }
  const std::string a = test_addr(9).to_string();
  exec(dir.db(), insert_row(test_peer(2).to_base58(), a, std::to_string(t0 + 2 * 86400)) +
                     insert_row(test_peer(3).to_base58(), a, "'yesterday'") +
                     insert_row(test_peer(4).to_base58(), a, std::to_string(t0 - 10) + ".5") +
                     insert_row(test_peer(5).to_base58(), a, "x'00'"));
  ASSERT_EQ(count_rows(dir), 5);
  auto store = open_store(test_config(dir, &clock));
  EXPECT_EQ(count_rows(dir), 1);
  EXPECT_EQ(rows_of(dir, test_peer(1)), 1);

  // The same rows written while the node runs: the next maintenance round
  // collects them instead of raising their reputation.
  exec(dir.db(), insert_row(test_peer(2).to_base58(), a, std::to_string(t0 + 2 * 86400)) +
                     insert_row(test_peer(3).to_base58(), a, "'yesterday'"));
  auto r = store->run_maintenance({});
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->rows_collected, 2u);
  EXPECT_EQ(r->rows_promoted, 1u);  // peer 1 only
  EXPECT_EQ(count_rows(dir), 1);
}

TEST(PeerStoreHygiene, ALastSeenSlightlyAheadIsClampedToNowAtWriteLoadAndMaintenance) {
  TempDir dir;
  FakeClock clock;
  const std::int64_t t0 = clock.now();
  auto store = open_store(test_config(dir, &clock));
  const std::string a = test_addr(1).to_string();
  exec(dir.db(), insert_row(test_peer(1).to_base58(), a, std::to_string(t0 + 3600)) +
                     insert_row(test_peer(2).to_base58(), a, std::to_string(t0 + 7200)));
  // Load: never later than now.
  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 2u);
  for (const auto& p : *peers) EXPECT_EQ(p.last_seen, t0);
  // Write: an update of the row brings it back to now.
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(query_int(dir.db(), "SELECT last_seen FROM dht_peers WHERE peer_id = '" +
                                    test_peer(1).to_base58() + "'"),
            t0);
  // Maintenance: the other one too, and it is promoted once, not forever
  // ahead of everyone else.
  ASSERT_TRUE(store->run_maintenance({}));
  EXPECT_EQ(query_int(dir.db(), "SELECT MAX(last_seen) FROM dht_peers"), t0);
  clock.set(t0 + 2 * 86400);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->run_maintenance({}));
  EXPECT_NEAR(query_double(dir.db(), "SELECT MAX(reputation) FROM dht_peers"), 1.1, 1e-9);
}

TEST(PeerStoreHygiene, TheWalStaysUnderAFewMegabytesThroughChurn) {
  TempDir dir;
  FakeClock clock;
  auto cfg = test_config(dir, &clock);
  cfg.max_rows = 50'000;  // churn: old rows are evicted as new ones come
  auto store = open_store(cfg);
  const fs::path wal = dir.db().string() + "-wal";
  std::uintmax_t peak = 0;
  constexpr std::uint32_t kUpserts = 200'000;
  // The writer commits full batches (batch_max_rows) as they fill; the test
  // looks at the -wal file after every 5 of them.
  constexpr std::uint32_t kStep = 5'000;
  for (std::uint32_t i = 0; i < kUpserts; i += kStep) {
    for (std::uint32_t j = i; j < i + kStep; ++j) {
      // Two updates of every row, the second 100,000 upserts later.
      const std::uint32_t n = j % 100'000;
      ASSERT_TRUE(store->add_peer(test_peer(n), test_addr(n)));
    }
    ASSERT_TRUE(store->flush());
    clock.set(clock.now() + 1);
    if ((i / kStep) % 4 == 3) {
      ASSERT_TRUE(store->run_maintenance({}));
    }
    std::error_code ec;
    peak = std::max(peak, fs::exists(wal, ec) ? fs::file_size(wal) : 0);
  }
  std::cout << "peak -wal size over " << kUpserts << " upserts: " << peak << " bytes, dht.db "
            << fs::file_size(dir.db()) << " bytes\n";
  // journal_size_limit 4 MiB plus what one batch adds before the next
  // checkpoint resets it.
  EXPECT_LE(peak, 8u << 20);
  EXPECT_LE(count_rows(dir), 50'000);
}

TEST(PeerStoreHygiene, StatsAreCurrentRightAfterABatchCommits) {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(test_config(dir, &clock));
  EXPECT_EQ(store->last_stats().total_addresses, 0u);
  for (std::uint32_t i = 0; i < 90; ++i)
    ASSERT_TRUE(store->add_peer(test_peer(i / 3), test_addr(i)));
  ASSERT_TRUE(store->flush());
  auto s = store->last_stats();
  EXPECT_EQ(s.total_peers, 30u);
  EXPECT_EQ(s.total_addresses, 90u);
  EXPECT_EQ(s.stale_peers, 0u);
}

TEST(PeerStoreHygiene, StatsFollowBatchesCommittedByTheWindowWithoutAFlush) {
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.batch_interval = std::chrono::milliseconds(20);
  auto store = open_store(cfg);
  for (std::uint32_t i = 0; i < 90; ++i)
    ASSERT_TRUE(store->add_peer(test_peer(i / 3), test_addr(i)));
  // No flush, no maintenance: the writer refreshes them itself.
  EXPECT_TRUE(eventually([&] { return store->last_stats().total_addresses == 90; }));
  EXPECT_EQ(store->last_stats().total_peers, 30u);
  ASSERT_TRUE(store->remove_peer(test_peer(0), test_addr(0)));
  EXPECT_TRUE(eventually([&] { return store->last_stats().total_addresses == 89; }));
}

// Overwrites `count` pages from `first` (1-based, as SQLite numbers them).
void damage_pages(const fs::path& db, std::uint64_t first, std::uint64_t count) {
  std::fstream f(db, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>((first - 1) * 4096));
  std::string garbage(count * 4096, '\0');
  std::uint32_t x = 12345;
  for (char& c : garbage) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

TEST(PeerStoreHygiene, ADatabaseWithDamagedPagesKeepsItsReadableRows) {
  TempDir dir;
  constexpr std::uint32_t kRows = 1000;
  std::set<std::string> written;
  {
    auto store = open_store(test_config(dir));
    for (std::uint32_t i = 0; i < kRows; ++i) {
      ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
      written.insert(test_peer(i).to_base58());
    }
    ASSERT_TRUE(store->close());  // checkpointed: everything in dht.db
  }
  const auto pages = fs::file_size(dir.db()) / 4096;
  ASSERT_GT(pages, 40u);
  damage_pages(dir.db(), pages / 2, 3);

  LogCapture log;
  auto store = open_store(test_config(dir));
  const std::string text = log.text();
  std::size_t salvage_lines = 0;
  std::string salvage_line;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.find("salvaged") != std::string::npos) {
      ++salvage_lines;
      salvage_line = l;
    }
  }
  ASSERT_EQ(salvage_lines, 1u) << text;
  EXPECT_EQ(salvage_line.rfind("[error] DHT storage", 0), 0u) << text;
  EXPECT_NE(salvage_line.find("quick_check"), std::string::npos) << "the reason, on the same line";
  EXPECT_NE(salvage_line.find(".corrupt-"), std::string::npos) << salvage_line;

  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  std::cout << salvage_line << "\n";
  // Three damaged pages hold at most a few dozen rows each.
  EXPECT_GE(peers->size(), kRows - 150) << salvage_line;
  EXPECT_LE(peers->size(), kRows);
  for (const auto& p : *peers) EXPECT_TRUE(written.contains(p.id.to_base58()));
  EXPECT_NE(salvage_line.find("salvaged " + std::to_string(peers->size()) + " peer records"),
            std::string::npos)
      << salvage_line;
  std::size_t copies = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    copies += e.path().filename().string().starts_with("dht.db.corrupt-") ? 1 : 0;
  }
  EXPECT_EQ(copies, 1u);
}

TEST(PeerStoreHygiene, SalvageOfAFileThatIsNotADatabaseFindsNothingAndDoesNotThrow) {
  TempDir dir;
  std::ofstream(dir.db(), std::ios::binary) << std::string(8192, 'x');
  const Salvage s = salvage_peer_rows(dir.db(), 1000);
  EXPECT_TRUE(s.rows.empty());
}

}  // namespace
}  // namespace mp::storage

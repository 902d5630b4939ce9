// SqlitePeerStore fault handling on real files: missing dir, a file that is
// not a database, a corrupt database, a second node on the same data dir,
// read-only and full storage, a busy database, invalid rows.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <thread>

#include "storage/sqlite_peer_store.hpp"
#include "test_util.hpp"

namespace mp::storage {
namespace {

using test::count_rows;
using test::eventually;
using test::LogCapture;
using test::open_store;
using test::sqlite3_cli;
using test::test_addr;
using test::test_config;
using test::test_peer;
using test::TempDir;
namespace fs = std::filesystem;

std::vector<fs::path> corrupt_copies(const TempDir& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().filename().string().starts_with("dht.db.corrupt-")) out.push_back(e.path());
  }
  return out;
}

TEST(PeerStoreFaults, MissingDataDirIsCreated) {
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.data_dir = dir.path() / "a" / "b" / "data";
  auto store = open_store(cfg);
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->flush());
  EXPECT_TRUE(fs::exists(cfg.data_dir / "dht.db"));
  EXPECT_TRUE(fs::exists(cfg.data_dir / "bootstrap.lock"));
}

TEST(PeerStoreFaults, AFileThatIsNotADatabaseIsMovedAsideAndAFreshOneStarted) {
  TempDir dir;
  const std::string junk(8192, 'x');
  std::ofstream(dir.db(), std::ios::binary) << junk;
  LogCapture log;
  auto store = open_store(test_config(dir));
  EXPECT_NE(log.text().find("[error]"), std::string::npos) << log.text();
  EXPECT_NE(log.text().find("Moved it to"), std::string::npos) << log.text();
  EXPECT_NE(log.text().find("EMPTY peer store (salvaged 0 peer records"), std::string::npos) << log.text();

  auto moved = corrupt_copies(dir);
  ASSERT_EQ(moved.size(), 1u);
  std::string kept(fs::file_size(moved[0]), '\0');
  std::ifstream(moved[0], std::ios::binary).read(kept.data(), static_cast<std::streamsize>(kept.size()));
  EXPECT_EQ(kept, junk);  // the operator can still look at what was there

  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(count_rows(dir), 1);
}

TEST(PeerStoreFaults, ACorruptDatabaseIsMovedAside) {
  TempDir dir;
  {
    auto store = open_store(test_config(dir));
    for (std::uint32_t i = 0; i < 2000; ++i) ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
    ASSERT_TRUE(store->close());  // the last connection checkpoints: all in dht.db
  }
  ASSERT_GT(fs::file_size(dir.db()), 8u * 4096);
  {
    // Scribble over pages 3 and 4 (table and index b-tree pages).
    std::fstream f(dir.db(), std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(2 * 4096);
    const std::string garbage(2 * 4096, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  LogCapture log;
  auto store = open_store(test_config(dir));
  EXPECT_NE(log.text().find("[error]"), std::string::npos) << log.text();
  EXPECT_EQ(corrupt_copies(dir).size(), 1u);
  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  // A fresh store holding what could be salvaged (hygiene_test.cpp).
  EXPECT_LE(peers->size(), 2000u);
  EXPECT_NE(log.text().find("salvaged " + std::to_string(peers->size()) + " peer records"), std::string::npos)
      << log.text();
}

TEST(PeerStoreFaults, ASecondStoreOnTheSameDataDirIsRefused) {
  TempDir dir;
  auto first = open_store(test_config(dir));
  auto second = SqlitePeerStore::open(test_config(dir));
  ASSERT_FALSE(second);
  EXPECT_NE(second.message().find("already running"), std::string::npos) << second.message();
  EXPECT_NE(second.message().find("bootstrap.lock"), std::string::npos) << second.message();
  // The first one is untouched and keeps working.
  ASSERT_TRUE(first->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(first->flush());
  // Once it is closed the lock is free.
  ASSERT_TRUE(first->close());
  auto third = SqlitePeerStore::open(test_config(dir));
  EXPECT_TRUE(third) << (third ? "" : third.message());
}

TEST(PeerStoreFaults, AFullQueueRefusesAndCountsInsteadOfBlocking) {
  TempDir dir;
  auto cfg = test_config(dir);  // one-hour window: nothing drains the queue
  cfg.queue_capacity = 2;
  auto store = open_store(cfg);
  EXPECT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  EXPECT_TRUE(store->add_peer(test_peer(2), test_addr(2)));
  EXPECT_FALSE(store->add_peer(test_peer(3), test_addr(3)));
  EXPECT_TRUE(store->add_peer(test_peer(1), test_addr(1)));  // an update of a queued row fits
  EXPECT_EQ(store->counters().queue_full_refusals, 1u);
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(count_rows(dir), 2);
}

// Root ignores chmod, so the read-only filesystem is reached by opening the
// database read-only: SQLite then fails every write with SQLITE_READONLY,
// exactly as on a read-only mount.
TEST(PeerStoreFaults, ReadOnlyStorageKeepsServingCountsFailuresAndKeepsRowsUpToTheBound) {
  TempDir dir;
  {
    auto store = open_store(test_config(dir));
    ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  }
  auto cfg = test_config(dir);
  cfg.read_only = true;
  cfg.queue_capacity = 4;
  LogCapture log;
  auto store = open_store(cfg);
  auto peers = store->load_peers();  // reads still work
  ASSERT_TRUE(peers);
  EXPECT_EQ(peers->size(), 1u);

  ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(2)));
  Status st = store->flush();
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("readonly"), std::string::npos) << st.message();
  auto c = store->counters();
  EXPECT_GE(c.write_failures, 1u);
  EXPECT_EQ(c.queue_depth, 1u);  // kept for a later retry
  // The queue fills to its bound, then refuses; nothing blocks.
  int refused = 0;
  for (std::uint32_t i = 10; i < 20; ++i) refused += store->add_peer(test_peer(i), test_addr(i)) ? 0 : 1;
  EXPECT_EQ(refused, 7);
  EXPECT_EQ(store->counters().queue_full_refusals, 7u);
  EXPECT_NE(log.text().find("[error] Peer store write"), std::string::npos) << log.text();
  auto stats = store->get_stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->total_peers, 1u);
  EXPECT_FALSE(store->close());  // says the queued rows could not be written
  EXPECT_NE(log.text().find("not written"), std::string::npos);
  EXPECT_EQ(count_rows(dir), 1);
}

// A full disk, simulated with PRAGMA max_page_count (SQLITE_FULL).
TEST(PeerStoreFaults, AFullDiskIsCountedAndTheStoreKeepsServing) {
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.max_page_count = 16;
  // No retry while we look: a writer descheduled past a short retry delay
  // (a loaded machine) would take the rows back out of the queue.
  cfg.retry_interval = std::chrono::hours(1);
  auto store = open_store(cfg);
  for (std::uint32_t i = 0; i < 5000; ++i) ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
  Status st = store->flush();
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("full"), std::string::npos) << st.message();
  auto c = store->counters();
  EXPECT_GE(c.write_failures, 1u);
  EXPECT_GT(c.queue_depth, 0u);
  EXPECT_LT(count_rows(dir), 5000);
  EXPECT_TRUE(store->get_stats());
  EXPECT_TRUE(store->load_peers());
  EXPECT_TRUE(store->add_peer(test_peer(9999), test_addr(9999)));
}

class BlockingWriter {
 public:
  explicit BlockingWriter(const fs::path& db) {
    sqlite3_open(db.c_str(), &h_);
    ok_ = sqlite3_exec(h_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~BlockingWriter() { sqlite3_close_v2(h_); }
  bool ok() const { return ok_; }
  void release() { sqlite3_exec(h_, "ROLLBACK", nullptr, nullptr, nullptr); }

 private:
  sqlite3* h_ = nullptr;
  bool ok_ = false;
};

TEST(PeerStoreFaults, ABusyDatabaseFailsTheBatchWhichIsRetriedOnFlush) {
  TempDir dir;
  auto store = open_store(test_config(dir));
  BlockingWriter other(dir.db());  // e.g. an operator's sqlite3 holding a write transaction
  ASSERT_TRUE(other.ok());
  for (std::uint32_t i = 0; i < 10; ++i) ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
  EXPECT_FALSE(store->flush());
  EXPECT_GE(store->counters().write_failures, 1u);
  EXPECT_EQ(store->counters().queue_depth, 10u);
  other.release();
  LogCapture log;
  EXPECT_TRUE(store->flush());
  EXPECT_EQ(count_rows(dir), 10);
  EXPECT_NE(log.text().find("recovered"), std::string::npos);
}

TEST(PeerStoreFaults, AFailedBatchIsRetriedWithoutFlushOnceTheFaultClears) {
  TempDir dir;
  auto cfg = test_config(dir);
  cfg.batch_interval = std::chrono::milliseconds(20);
  auto store = open_store(cfg);
  BlockingWriter other(dir.db());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  EXPECT_TRUE(eventually([&] { return store->counters().write_failures >= 1; }));
  other.release();
  EXPECT_TRUE(eventually([&] { return store->counters().rows_committed == 1; }));
  EXPECT_EQ(count_rows(dir), 1);
}

TEST(PeerStoreFaults, InvalidRowsAreSkippedWithAWarning) {
  TempDir dir;
  {
    auto store = open_store(test_config(dir));
    ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  }
  const std::string good = test_peer(2).to_base58();
  auto r = sqlite3_cli(dir.db(),
                       "INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES "
                       "('fake_peer', '/ip4/1.2.3.4/tcp/4001', strftime('%s','now'), strftime('%s','now')), "
                       "('" + good + "', '/ip4/999.1.1.1/tcp/1', strftime('%s','now'), strftime('%s','now')), "
                       "('" + good + "', 'not a multiaddr', strftime('%s','now'), strftime('%s','now'))");
  ASSERT_EQ(r.status, 0) << r.output;
  LogCapture log;
  auto store = open_store(test_config(dir));
  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 1u);  // peer 2 had no valid address left
  EXPECT_EQ((*peers)[0].id, test_peer(1));
  EXPECT_EQ(store->counters().invalid_rows_skipped, 3u);
  EXPECT_NE(log.text().find("[warning] Skipping invalid stored peer record (fake_peer"), std::string::npos)
      << log.text();
  EXPECT_EQ(count_rows(dir), 4);  // skipped, not deleted: the operator may want to look
}

// Found by the stored_row fuzz target: a peer stored under its base58 and its
// CID spelling loaded as two peers, and an address stored with and without
// its /p2p/ suffix loaded twice. Each peer and address must load once.
TEST(PeerStoreFaults, RowsNamingOnePeerOrAddressTwoWaysLoadOnce) {
  TempDir dir;
  { auto store = open_store(test_config(dir)); }
  const PeerId p = test_peer(3);
  const std::string b58 = p.to_base58(), cid = p.to_cid(), a = test_addr(1).to_string();
  auto row = [](const std::string& peer, const std::string& addr) {
    return "('" + peer + "', '" + addr + "', 1, strftime('%s','now'))";
  };
  auto r = sqlite3_cli(
      dir.db(), "INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES " +
                    row(b58, a) + ", " + row(cid, a) + ", " + row(cid, a + "/p2p/" + b58) + ", " +
                    row(cid, "/ip4/5.6.7.8/tcp/4001"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto store = open_store(test_config(dir));
  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].id, p);
  EXPECT_EQ((*peers)[0].addrs.size(), 2u);
}

}  // namespace
}  // namespace mp::storage

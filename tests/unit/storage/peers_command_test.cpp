// `peers stats|list|gc` against a data dir whose node is running (the
// store holds the lock and its connections open).
#include "storage/peers_command.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "storage/sqlite_peer_store.hpp"
#include "test_util.hpp"

namespace mp::storage {
namespace {

using test::count_rows;
using test::open_store;
using test::sqlite3_cli;
using test::test_addr;
using test::test_config;
using test::test_peer;
using test::TempDir;

struct Run {
  int code;
  std::string out, err;
};

Run peers(const TempDir& dir, std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = run_peers_command(args, dir.path().string(), out, err);
  return {code, out.str(), err.str()};
}

class PeersCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(test_config(dir_));
    ASSERT_TRUE(store_->add_peer(test_peer(1), test_addr(1)));
    ASSERT_TRUE(store_->add_peer(test_peer(1), test_addr(2)));
    ASSERT_TRUE(store_->add_peer(test_peer(2), test_addr(3)));
    ASSERT_TRUE(store_->flush());
    ASSERT_TRUE(store_->record_dial_failure(test_peer(2)));
    ASSERT_TRUE(store_->flush());
    auto r = sqlite3_cli(dir_.db(),
                         "INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES "
                         "('" + test_peer(3).to_base58() + "', '/ip4/1.2.3.4/tcp/4001', "
                         "strftime('%s', 'now', '-30 days'), strftime('%s', 'now', '-30 days'))");
    ASSERT_EQ(r.status, 0) << r.output;
  }

  TempDir dir_;
  std::unique_ptr<SqlitePeerStore> store_;
};

TEST_F(PeersCommand, StatsWhileTheNodeRuns) {
  auto r = peers(dir_, {"stats"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("total peers:     3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("total addresses: 4\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stale peers:     1 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 last 24h, 0 last week, 1 older"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("schema version 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("min 0.5"), std::string::npos) << r.out;
}

TEST_F(PeersCommand, ListShowsRowsBestFirstAndHonoursTheLimit) {
  auto r = peers(dir_, {"peers", "list", "--limit", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(test_peer(1).to_base58() + "\t" + test_addr(1).to_string() + "\t1.0\t"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find(test_peer(2).to_base58()), std::string::npos) << r.out;  // 0.5: below the limit
  EXPECT_NE(r.out.find("(2 rows)"), std::string::npos);
  auto all = peers(dir_, {"list", "--limit", "0"});
  EXPECT_NE(all.out.find("(4 rows)"), std::string::npos) << all.out;
}

TEST_F(PeersCommand, GcDeletesOldRowsBesideTheRunningWriter) {
  auto r = peers(dir_, {"gc"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Cleaned up 1 stale peer records (older than 604800s)\n");
  EXPECT_EQ(count_rows(dir_), 3);
  // The node keeps writing afterwards.
  ASSERT_TRUE(store_->add_peer(test_peer(9), test_addr(9)));
  ASSERT_TRUE(store_->flush());
  EXPECT_EQ(count_rows(dir_), 4);
  auto none = peers(dir_, {"gc", "--max-age-secs", "999999999"});
  EXPECT_EQ(none.out, "Cleaned up 0 stale peer records (older than 999999999s)\n");
  // Rows from a wrong clock or typed by hand go too, whatever the max age.
  auto ins = sqlite3_cli(dir_.db(),
                         "INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) VALUES "
                         "('" +
                             test_peer(4).to_base58() +
                             "', '/ip4/1.2.3.4/tcp/1', 1, strftime('%s', 'now', '+2 days')), "
                             "('" +
                             test_peer(5).to_base58() + "', '/ip4/1.2.3.4/tcp/1', 1, 'soon')");
  ASSERT_EQ(ins.status, 0) << ins.output;
  auto odd = peers(dir_, {"gc", "--max-age-secs", "999999999"});
  EXPECT_EQ(odd.out, "Cleaned up 2 stale peer records (older than 999999999s)\n");
  EXPECT_EQ(count_rows(dir_), 4);
}

TEST_F(PeersCommand, UsageErrorsAndAMissingStore) {
  EXPECT_EQ(peers(dir_, {}).code, 2);
  EXPECT_EQ(peers(dir_, {"frobnicate"}).code, 2);
  EXPECT_EQ(peers(dir_, {"list", "--limit", "many"}).code, 2);
  EXPECT_EQ(peers(dir_, {"gc", "--bogus"}).code, 2);
  EXPECT_EQ(peers(dir_, {"stats", "extra"}).code, 2);
  TempDir empty;
  auto r = peers(empty, {"stats"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no peer store"), std::string::npos);
}

}  // namespace
}  // namespace mp::storage

// PgFleet on a real PostgreSQL 15 server (pg_server.hpp): heartbeats and
// membership, pulls by change_seq that skip our own rows, the NOTIFY wake-up,
// bounded batches. Waits are on conditions with a bounded timeout.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>

#include "fleet/pg_fleet.hpp"
#include "pg_server.hpp"
#include "storage/pg_peer_store.hpp"
#include "test_util.hpp"

namespace mp::fleet {
namespace {

using namespace std::chrono_literals;
using storage::test::PgServer;
using storage::test::test_addr;
using storage::test::test_peer;

// What one fleet thread reported.
struct Reports {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Member> members;
  std::vector<storage::StoredPeer> pulled;
  int member_reports = 0;

  template <typename Pred>
  bool wait(Pred pred, std::chrono::seconds limit = 20s) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, limit, [&] { return pred(*this); });
  }
};

PgFleetConfig fleet_config(const std::string& url, const std::string& self, Reports& r) {
  PgFleetConfig c;
  c.url = url;
  c.self = self;
  c.addrs = {"/ip4/127.0.0.1/tcp/4001/p2p/" + self};
  c.version = "test";
  c.heartbeat = 200ms;
  c.pull = 1h;  // after the first pull, only NOTIFY wakes it
  c.retry_interval = 50ms;
  c.on_members = [&r](std::vector<Member> m) {
    std::lock_guard lk(r.mu);
    r.members = std::move(m);
    ++r.member_reports;
    r.cv.notify_all();
  };
  c.on_pulled = [&r](std::vector<storage::StoredPeer> p) {
    std::lock_guard lk(r.mu);
    for (auto& x : p) r.pulled.push_back(std::move(x));
    r.cv.notify_all();
  };
  return c;
}

std::unique_ptr<storage::PgPeerStore> open_store(const std::string& url, const std::string& seen_by) {
  storage::PgPeerStoreConfig c;
  c.url = url;
  c.seen_by = seen_by;
  c.batch.batch_interval = 1h;  // commits on flush
  auto s = storage::PgPeerStore::open(std::move(c));
  if (!s) throw std::runtime_error(s.message());
  return std::move(*s);
}

TEST(PgFleet, MembersSeeEachOtherAndAGoneMemberIsLeftOut) {
  const std::string url = PgServer::shared().create_database();
  auto migrate = open_store(url, "A");  // schema v4
  PgServer::shared().query(url,
                           "INSERT INTO bootstrap_nodes VALUES ('Gone', '/ip4/127.0.0.1/tcp/1', 'old', "
                           "(extract(epoch from clock_timestamp()) * 1000)::bigint - 60000, 0)");
  Reports ra, rb;
  PgFleet a(fleet_config(url, "A", ra)), b(fleet_config(url, "B", rb));
  a.start();
  b.start();
  ASSERT_TRUE(ra.wait([](Reports& r) { return r.members.size() == 2; }));
  {
    std::lock_guard lk(ra.mu);
    EXPECT_EQ(ra.members[0].peer_id, "A");
    EXPECT_EQ(ra.members[1].peer_id, "B");
    EXPECT_EQ(ra.members[1].addrs, std::vector<std::string>{"/ip4/127.0.0.1/tcp/4001/p2p/B"});
    EXPECT_EQ(ra.members[1].version, "test");
  }
  EXPECT_EQ(a.counters().members_alive.load(), 2u);
  // B stops: within a few heartbeats A counts it gone.
  b.stop();
  ASSERT_TRUE(ra.wait([](Reports& r) { return r.members.size() == 1; }));
  EXPECT_EQ(a.counters().members_alive.load(), 1u);
}

TEST(PgFleet, NotifyBringsWhatAnotherNodeStoredAndNeverOurOwnRows) {
  const std::string url = PgServer::shared().create_database();
  auto store_a = open_store(url, "A");
  auto store_b = open_store(url, "B");
  Reports rb;
  auto cfg = fleet_config(url, "B", rb);
  cfg.pull_batch = 5;  // 12 rows: three queries in one round
  PgFleet b(std::move(cfg));
  b.start();
  // The first pull (at connect) is done: from now on only NOTIFY wakes B.
  ASSERT_TRUE(rb.wait([&](Reports&) { return b.counters().pulls.load() >= 1; }));
  for (std::uint32_t i = 0; i < 12; ++i) ASSERT_TRUE(store_a->add_peer(test_peer(i), test_addr(i)));
  ASSERT_TRUE(store_b->add_peer(test_peer(100), test_addr(100)));  // B's own: not pulled
  ASSERT_TRUE(store_b->flush());
  ASSERT_TRUE(store_a->flush());
  ASSERT_TRUE(rb.wait([](Reports& r) { return r.pulled.size() >= 12; }));
  EXPECT_GE(b.counters().notifications.load(), 1u);
  EXPECT_EQ(b.counters().pulled_rows.load(), 12u);
  std::lock_guard lk(rb.mu);
  for (const auto& p : rb.pulled) EXPECT_NE(p.id, test_peer(100));
  EXPECT_EQ(rb.pulled.size(), 12u);
}

TEST(PgFleet, RowsFromBeforeTheFleetStartedAreNotPulledAgain) {
  const std::string url = PgServer::shared().create_database();
  auto store_a = open_store(url, "A");
  for (std::uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(store_a->add_peer(test_peer(i), test_addr(i)));
  ASSERT_TRUE(store_a->flush());  // loaded by load_peers at start instead
  Reports rb;
  PgFleet b(fleet_config(url, "B", rb));
  b.start();
  ASSERT_TRUE(rb.wait([&](Reports&) { return b.counters().pulls.load() >= 1; }));
  ASSERT_TRUE(store_a->add_peer(test_peer(7), test_addr(7)));
  ASSERT_TRUE(store_a->flush());
  ASSERT_TRUE(rb.wait([](Reports& r) { return !r.pulled.empty(); }));
  std::lock_guard lk(rb.mu);
  ASSERT_EQ(rb.pulled.size(), 1u);
  EXPECT_EQ(rb.pulled[0].id, test_peer(7));
}

// One row seen by member A in `tx`, which takes its transaction id first
// (as PgPeerStore::write_batch); returns its change_seq.
std::int64_t insert_seen_by_a(pqxx::work& tx, const PeerId& p) {
  tx.exec("SELECT pg_current_xact_id()");
  return tx
      .exec_params("INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen, seen_by) "
                   "VALUES ($1, $2, extract(epoch from now())::bigint, "
                   "extract(epoch from now())::bigint, 'A') RETURNING change_seq",
                   p.to_base58(), test_addr(1).to_string())[0][0]
      .as<std::int64_t>();
}

// The late-commit gap: a change_seq taken by a transaction that commits
// after a higher one was already pulled still arrives (PullWindow).
TEST(PgFleet, ARowWhoseTransactionCommitsLateIsStillPulled) {
  const std::string url = PgServer::shared().create_database();
  auto migrate = open_store(url, "A");
  Reports rb;
  PgFleet b(fleet_config(url, "B", rb));
  b.start();
  ASSERT_TRUE(rb.wait([&](Reports&) { return b.counters().pulls.load() >= 1; }));
  const PeerId early = test_peer(1), later = test_peer(2);
  pqxx::connection c1(url), c2(url);
  pqxx::work t1(c1);
  const std::int64_t early_seq = insert_seen_by_a(t1, early);  // the lower change_seq
  {
    pqxx::work t2(c2);
    EXPECT_GT(insert_seen_by_a(t2, later), early_seq);  // the higher one, committed first
    t2.commit();
  }
  b.poke();
  ASSERT_TRUE(rb.wait([&](Reports& r) { return r.pulled.size() == 1; }));
  {
    std::lock_guard lk(rb.mu);
    EXPECT_EQ(rb.pulled[0].id, later);
  }
  t1.commit();
  b.poke();
  ASSERT_TRUE(rb.wait([&](Reports& r) { return r.pulled.size() >= 2; }));
  std::lock_guard lk(rb.mu);
  ASSERT_EQ(rb.pulled.size(), 2u);
  EXPECT_EQ(rb.pulled[1].id, early);
  EXPECT_EQ(b.counters().late_rows.load(), 1u);
  EXPECT_EQ(b.counters().pulled_rows.load(), 2u);
}

// The same gap at the first connect: a writer holding a change_seq below
// the table's MAX when the member starts commits afterwards.
TEST(PgFleet, ARowCommittedLateDuringTheFirstConnectIsStillPulled) {
  const std::string url = PgServer::shared().create_database();
  auto migrate = open_store(url, "A");
  const PeerId early = test_peer(1), later = test_peer(2);
  pqxx::connection c1(url), c2(url);
  pqxx::work t1(c1);
  const std::int64_t early_seq = insert_seen_by_a(t1, early);
  {
    pqxx::work t2(c2);
    EXPECT_GT(insert_seen_by_a(t2, later), early_seq);
    t2.commit();
  }
  // B starts with `later` committed (the node would have loaded it) and
  // `early` still being written.
  Reports rb;
  PgFleet b(fleet_config(url, "B", rb));
  b.start();
  ASSERT_TRUE(rb.wait([&](Reports&) { return b.counters().pulls.load() >= 1; }));
  t1.commit();
  b.poke();
  ASSERT_TRUE(rb.wait([&](Reports& r) { return !r.pulled.empty(); }));
  std::lock_guard lk(rb.mu);
  ASSERT_EQ(rb.pulled.size(), 1u);  // `later` was there at start: not pulled again
  EXPECT_EQ(rb.pulled[0].id, early);
  EXPECT_EQ(b.counters().late_rows.load(), 1u);
}

TEST(PgFleet, OurRowFollowsOurAddressesAtTheNextHeartbeat) {
  const std::string url = PgServer::shared().create_database();
  auto migrate = open_store(url, "A");
  Reports ra;
  PgFleet a(fleet_config(url, "A", ra));
  a.start();
  const std::vector<std::string> first{"/ip4/127.0.0.1/tcp/4001/p2p/A"};
  ASSERT_TRUE(ra.wait([&](Reports& r) { return r.members.size() == 1 && r.members[0].addrs == first; }));
  // A new observed address, and the listen port changed.
  const std::vector<std::string> now{"/ip4/127.0.0.1/tcp/4002/p2p/A", "/ip4/203.0.113.7/tcp/4002/p2p/A"};
  a.set_addrs(now);
  ASSERT_TRUE(ra.wait([&](Reports& r) { return r.members.size() == 1 && r.members[0].addrs == now; }));
  EXPECT_EQ(PgServer::shared().query(url, "SELECT addrs FROM bootstrap_nodes WHERE peer_id = 'A'"),
            "/ip4/127.0.0.1/tcp/4002/p2p/A /ip4/203.0.113.7/tcp/4002/p2p/A");
}

TEST(PgFleet, LosingTheDatabaseReportsNoMembers) {
  PgServer server;  // its own server: this test stops it
  const std::string url = server.create_database();
  auto migrate = open_store(url, "A");
  Reports ra;
  PgFleet a(fleet_config(url, "A", ra));
  a.start();
  ASSERT_TRUE(ra.wait([](Reports& r) { return r.members.size() == 1; }));
  int reports = 0;
  {
    std::lock_guard lk(ra.mu);
    reports = ra.member_reports;
  }
  server.stop();
  ASSERT_TRUE(ra.wait([&](Reports& r) { return r.member_reports > reports && r.members.empty(); }));
  EXPECT_FALSE(a.counters().connected.load());
  a.stop();
  migrate.reset();
}

}  // namespace
}  // namespace mp::fleet

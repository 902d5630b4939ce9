// Both engines (SqlitePeerStore on real files, PgPeerStore on a real
// PostgreSQL server): write path (upsert, coalescing, batching, flush), load
// order, caps, GC, reputation, stats.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "storage/sqlite_peer_store.hpp"
#include "engine.hpp"
#include "test_util.hpp"

namespace mp::storage {
namespace {

using test::Engine;
using test::eventually;
using test::FakeClock;
using test::PeerStoreEngines;
using test::test_addr;
using test::test_peer;

std::string where_row(const PeerId& p, const Multiaddr& a) {
  return " FROM dht_peers WHERE peer_id = '" + p.to_base58() + "' AND multiaddr = '" +
         a.to_string() + "'";
}

TEST_P(PeerStoreEngines, UpsertKeepsFirstSeenAndMovesLastSeen) {
  FakeClock clock;
  auto store = open(test_config(&clock));
  const PeerId p = test_peer(1);
  const Multiaddr a = test_addr(1);
  const std::int64_t t0 = clock.now();

  ASSERT_TRUE(store->add_peer(p, a));
  ASSERT_TRUE(store->flush());
  clock.set(t0 + 500);
  // Same row, written with a trailing /p2p/<id>: stored without it.
  ASSERT_TRUE(store->add_peer(p, a.with_peer_id(p)));
  ASSERT_TRUE(store->flush());

  EXPECT_EQ(count_rows(), 1);
  EXPECT_EQ(query_int("SELECT first_seen" + where_row(p, a)), t0);
  EXPECT_EQ(query_int("SELECT last_seen" + where_row(p, a)), t0 + 500);
  EXPECT_DOUBLE_EQ(query_double("SELECT reputation" + where_row(p, a)), 1.0);

  // Moving forward only stops at the writer's clock: after the clock went
  // back (it was wrong), the row is clamped to now instead of staying in
  // the future (hygiene_test.cpp).
  clock.set(t0 + 100);
  ASSERT_TRUE(store->add_peer(p, a));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(query_int("SELECT last_seen" + where_row(p, a)), t0 + 100);
}

TEST_P(PeerStoreEngines, RemovePeerDeletesTheRow) {
  auto store = open(test_config());
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(2)));
  ASSERT_TRUE(store->flush());
  ASSERT_TRUE(store->remove_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(count_rows(), 1);
  EXPECT_EQ(query_int("SELECT COUNT(*)" + where_row(test_peer(1), test_addr(2))), 1);
}

TEST_P(PeerStoreEngines, RepeatedUpdatesOfARowCostOneWrite) {
  FakeClock clock;
  auto store = open(test_config(&clock));
  for (int i = 0; i < 100; ++i) {
    clock.set(clock.now() + 1);
    ASSERT_TRUE(store->add_peer(test_peer(7), test_addr(7)));
  }
  auto c = store->counters();
  EXPECT_EQ(c.queue_depth, 1u);
  EXPECT_EQ(c.updates_accepted, 100u);
  EXPECT_EQ(c.updates_coalesced, 99u);
  ASSERT_TRUE(store->flush());
  c = store->counters();
  EXPECT_EQ(c.rows_committed, 1u);
  EXPECT_EQ(c.batches_committed, 1u);
  EXPECT_EQ(query_int("SELECT last_seen FROM dht_peers"), clock.now());
}

TEST_P(PeerStoreEngines, AFullBatchIsCommittedWithoutWaitingForTheWindow) {
  auto cfg = test_config();  // one-hour window: only the batch size can trigger
  cfg.batch_max_rows = 100;
  auto store = open(cfg);
  for (std::uint32_t i = 0; i < 100; ++i) ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
  EXPECT_TRUE(eventually([&] { return store->counters().rows_committed >= 100; }));
  EXPECT_EQ(count_rows(), 100);
}

TEST_P(PeerStoreEngines, TheBatchWindowCommitsWithoutFlush) {
  auto cfg = test_config();
  cfg.batch_interval = std::chrono::milliseconds(20);
  auto store = open(cfg);
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  EXPECT_TRUE(eventually([&] { return store->counters().rows_committed == 1; }));
  EXPECT_EQ(count_rows(), 1);
}

TEST_P(PeerStoreEngines, RowsAreCommittedInTransactionsOfAtMostBatchMaxRows) {
  auto cfg = test_config();
  cfg.batch_max_rows = 250;
  auto store = open(cfg);
  for (std::uint32_t i = 0; i < 1000; ++i) ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
  ASSERT_TRUE(store->flush());
  const auto c = store->counters();
  EXPECT_EQ(c.rows_committed, 1000u);
  EXPECT_GE(c.batches_committed, 4u);
  EXPECT_EQ(count_rows(), 1000);
}

TEST_P(PeerStoreEngines, FlushLosesNoWriteFromConcurrentProducers) {
  auto cfg = test_config();
  cfg.batch_interval = std::chrono::milliseconds(5);
  cfg.queue_capacity = 100'000;
  auto store = open(cfg);
  constexpr std::uint32_t kThreads = 4, kPerThread = 5'000;
  std::vector<std::thread> producers;
  for (std::uint32_t t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < kPerThread; ++i) {
        const std::uint32_t n = t * kPerThread + i;
        EXPECT_TRUE(store->add_peer(test_peer(n), test_addr(n)));
        if (i % 1000 == 0) {
          EXPECT_TRUE(store->flush());  // flushes racing the writer
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(count_rows(), kThreads * kPerThread);
  EXPECT_EQ(store->counters().queue_full_refusals, 0u);
}

TEST_P(PeerStoreEngines, CloseWritesEverythingQueued) {
  {
    auto store = open(test_config());  // one-hour window: nothing written yet
    for (std::uint32_t i = 0; i < 3000; ++i) ASSERT_TRUE(store->add_peer(test_peer(i % 1000), test_addr(i)));
    ASSERT_TRUE(store->close());
    EXPECT_FALSE(store->add_peer(test_peer(1), test_addr(1)));  // closed: refused
  }
  // SQLite: a clean stop leaves one self-contained file (WAL checkpointed and removed).
  if (is_sqlite()) {
    EXPECT_FALSE(std::filesystem::exists(test_config().data_dir / "dht.db-wal"));
  }
  EXPECT_EQ(count_rows(), 3000);
  auto reopened = open(test_config());
  auto peers = reopened->load_peers();
  ASSERT_TRUE(peers);
  EXPECT_EQ(peers->size(), 1000u);
}

TEST_P(PeerStoreEngines, DestructorFlushesToo) {
  {
    auto store = open(test_config());
    ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  }
  EXPECT_EQ(count_rows(), 1);
}

TEST_P(PeerStoreEngines, LoadReturnsPeersBestFirstWithTheirAddresses) {
  FakeClock clock;
  const std::int64_t t0 = clock.now();
  auto store = open(test_config(&clock));
  // peer 1: seen long ago; peer 2: seen last; peer 3: seen recently but failing dials.
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(10)));
  clock.set(t0 + 100);
  ASSERT_TRUE(store->add_peer(test_peer(3), test_addr(30)));
  ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(20)));
  clock.set(t0 + 200);
  ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(21)));
  ASSERT_TRUE(store->add_peer(test_peer(3), test_addr(31)));
  ASSERT_TRUE(store->flush());
  ASSERT_TRUE(store->record_dial_failure(test_peer(3)));
  ASSERT_TRUE(store->record_dial_failure(test_peer(2), test_addr(21)));
  ASSERT_TRUE(store->flush());

  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 3u);
  // Reputation first (2 still has one address at 1.0), then recency.
  EXPECT_EQ((*peers)[0].id, test_peer(2));
  EXPECT_EQ((*peers)[1].id, test_peer(1));
  EXPECT_EQ((*peers)[2].id, test_peer(3));
  EXPECT_DOUBLE_EQ((*peers)[2].reputation, 0.5);
  EXPECT_EQ((*peers)[0].last_seen, t0 + 200);
  // Within peer 2: the healthy address before the one that failed, though older.
  ASSERT_EQ((*peers)[0].addrs.size(), 2u);
  EXPECT_EQ((*peers)[0].addrs[0], test_addr(20));
  EXPECT_EQ((*peers)[0].addrs[1], test_addr(21));
  // Within peer 3 (same reputation): newest first.
  ASSERT_EQ((*peers)[2].addrs.size(), 2u);
  EXPECT_EQ((*peers)[2].addrs[0], test_addr(31));
}

TEST_P(PeerStoreEngines, AddressesPerPeerAreCappedKeepingTheMostValuable) {
  FakeClock clock;
  auto cfg = test_config(&clock);
  cfg.max_addrs_per_peer = 3;
  auto store = open(cfg);
  const PeerId p = test_peer(1);
  for (std::uint32_t i = 0; i < 4; ++i) {
    clock.set(clock.now() + 10);
    ASSERT_TRUE(store->add_peer(p, test_addr(i)));
    ASSERT_TRUE(store->flush());
  }
  // addr 0 was the oldest: evicted.
  EXPECT_EQ(count_rows(), 3);
  EXPECT_EQ(query_int("SELECT COUNT(*)" + where_row(p, test_addr(0))), 0);
  // A failing address goes before an older healthy one.
  ASSERT_TRUE(store->record_dial_failure(p, test_addr(3)));
  ASSERT_TRUE(store->flush());
  clock.set(clock.now() + 10);
  ASSERT_TRUE(store->add_peer(p, test_addr(4)));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(count_rows(), 3);
  EXPECT_EQ(query_int("SELECT COUNT(*)" + where_row(p, test_addr(3))), 0);
  EXPECT_EQ(query_int("SELECT COUNT(*)" + where_row(p, test_addr(1))), 1);
  EXPECT_EQ(store->counters().rows_evicted, 2u);
}

TEST_P(PeerStoreEngines, TotalRowsAreCappedEvictingLowestReputationThenOldest) {
  FakeClock clock;
  auto cfg = test_config(&clock);
  cfg.max_rows = 100;
  auto store = open(cfg);
  for (std::uint32_t i = 0; i < 100; ++i) {
    clock.set(clock.now() + 1);
    ASSERT_TRUE(store->add_peer(test_peer(i), test_addr(i)));
  }
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(count_rows(), 100);
  // The newest peer fails a dial: lowest reputation, evicted first.
  ASSERT_TRUE(store->record_dial_failure(test_peer(99)));
  ASSERT_TRUE(store->flush());
  clock.set(clock.now() + 1);
  ASSERT_TRUE(store->add_peer(test_peer(1000), test_addr(1000)));
  ASSERT_TRUE(store->flush());
  // Over the cap: evicted down to 95% (the low-water mark).
  EXPECT_EQ(count_rows(), 95);
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM dht_peers WHERE peer_id = '" +
                                    test_peer(99).to_base58() + "'"),
            0);
  // Then the oldest: peers 0..4 went, 5 stayed, the new one stayed.
  EXPECT_EQ(query_int("SELECT COUNT(*)" + where_row(test_peer(4), test_addr(4))), 0);
  EXPECT_EQ(query_int("SELECT COUNT(*)" + where_row(test_peer(5), test_addr(5))), 1);
  EXPECT_EQ(query_int("SELECT COUNT(*)" + where_row(test_peer(1000), test_addr(1000))), 1);
  EXPECT_EQ(store->counters().rows_evicted, 6u);
}

TEST_P(PeerStoreEngines, GarbageCollectionAtStartRemovesRowsOlderThanMaxAge) {
  FakeClock clock;
  const std::int64_t t0 = clock.now();
  {
    auto store = open(test_config(&clock));
    ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));  // will be 8 days old
    clock.set(t0 + 2 * 86400);
    ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(2)));  // will be 6 days old
  }
  clock.set(t0 + 8 * 86400);
  test::LogCapture log;
  auto store = open(test_config(&clock));
  EXPECT_NE(log.text().find("Cleaned up 1 stale peer records (older than 604800s)"), std::string::npos)
      << log.text();
  auto peers = store->load_peers();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].id, test_peer(2));
  EXPECT_NE(log.text().find("Loaded 1 peers with 1 addresses from storage"), std::string::npos);
  // The log says GC ran before the load.
  EXPECT_LT(log.text().find("Cleaned up"), log.text().find("Loaded"));
  EXPECT_EQ(store->counters().rows_collected, 1u);
}

TEST_P(PeerStoreEngines, CleanupStaleAndMaintenanceCollectOldRows) {
  FakeClock clock;
  const std::int64_t t0 = clock.now();
  auto cfg = test_config(&clock);
  cfg.peer_max_age_secs = 1000;
  auto store = open(cfg);
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  clock.set(t0 + 600);
  ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(2)));
  ASSERT_TRUE(store->flush());
  clock.set(t0 + 1200);
  auto n = store->cleanup_stale(1000);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  clock.set(t0 + 1700);
  auto r = store->run_maintenance({});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rows_collected, 1u);
  EXPECT_EQ(count_rows(), 0);
}

TEST_P(PeerStoreEngines, MaintenanceRaisesReputationOfPeersSeenWithinADayUpToTen) {
  FakeClock clock;
  const std::int64_t t0 = clock.now();
  auto store = open(test_config(&clock));
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));  // will be 2 days old
  clock.set(t0 + 2 * 86400);
  ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(2)));
  ASSERT_TRUE(store->flush());

  auto r = store->run_maintenance({});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rows_promoted, 1u);
  ASSERT_TRUE(store->run_maintenance({}));
  EXPECT_NEAR(query_double("SELECT reputation" + where_row(test_peer(2), test_addr(2))), 1.2, 1e-9);
  EXPECT_DOUBLE_EQ(query_double("SELECT reputation" + where_row(test_peer(1), test_addr(1))), 1.0);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store->run_maintenance({}));
  EXPECT_DOUBLE_EQ(query_double("SELECT reputation" + where_row(test_peer(2), test_addr(2))), 10.0);
}

TEST_P(PeerStoreEngines, DialFailuresLowerReputationToTheFloorAndSuccessRestoresIt) {
  FakeClock clock;
  auto store = open(test_config(&clock));
  const PeerId p = test_peer(1);
  ASSERT_TRUE(store->add_peer(p, test_addr(1)));
  ASSERT_TRUE(store->add_peer(p, test_addr(2)));
  ASSERT_TRUE(store->flush());
  auto rep = [&](std::uint32_t a) { return query_double("SELECT reputation" + where_row(p, test_addr(a))); };

  ASSERT_TRUE(store->record_dial_failure(p));  // every address
  ASSERT_TRUE(store->flush());
  EXPECT_DOUBLE_EQ(rep(1), 0.5);
  EXPECT_DOUBLE_EQ(rep(2), 0.5);
  ASSERT_TRUE(store->record_dial_failure(p, test_addr(1)));  // one address, twice in a window
  ASSERT_TRUE(store->record_dial_failure(p, test_addr(1)));
  ASSERT_TRUE(store->flush());
  EXPECT_DOUBLE_EQ(rep(1), 0.0);  // floor, not -0.5
  EXPECT_DOUBLE_EQ(rep(2), 0.5);

  clock.set(clock.now() + 60);
  ASSERT_TRUE(store->record_dial_success(p, test_addr(1)));
  ASSERT_TRUE(store->flush());
  EXPECT_DOUBLE_EQ(rep(1), 1.0);
  EXPECT_EQ(query_int("SELECT last_seen" + where_row(p, test_addr(1))), clock.now());
  // A dial success to an unknown address stores it.
  ASSERT_TRUE(store->record_dial_success(p, test_addr(3)));
  ASSERT_TRUE(store->flush());
  EXPECT_DOUBLE_EQ(rep(3), 1.0);
  // Failure of an unknown peer changes nothing and does not fail.
  ASSERT_TRUE(store->record_dial_failure(test_peer(99)));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(count_rows(), 3);
}

TEST_P(PeerStoreEngines, MaintenanceRefreshesConnectedPeersAndReportsStats) {
  FakeClock clock;
  const std::int64_t t0 = clock.now();
  auto store = open(test_config(&clock));
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(2)));
  ASSERT_TRUE(store->add_peer(test_peer(2), test_addr(3)));
  ASSERT_TRUE(store->add_peer(test_peer(3), test_addr(4)));
  ASSERT_TRUE(store->flush());
  clock.set(t0 + 2 * 86400);  // everyone is stale now...
  auto r = store->run_maintenance({test_peer(1)});  // ...except peer 1, still connected
  ASSERT_TRUE(r);
  EXPECT_EQ(r->peers_touched, 2u);
  EXPECT_EQ(r->stats.total_peers, 3u);
  EXPECT_EQ(r->stats.total_addresses, 4u);
  EXPECT_EQ(r->stats.stale_peers, 2u);
  EXPECT_EQ(query_int("SELECT last_seen" + where_row(test_peer(1), test_addr(2))), t0 + 2 * 86400);
  auto s = store->get_stats();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->total_peers, 3u);
  EXPECT_EQ(s->stale_peers, 2u);
  EXPECT_EQ(store->last_stats().total_addresses, 4u);
}

TEST_P(PeerStoreEngines, ScheduledMaintenanceRunsOnTheWriterThread) {
  FakeClock clock;
  auto store = open(test_config(&clock));
  ASSERT_TRUE(store->add_peer(test_peer(1), test_addr(1)));
  store->schedule_maintenance({});
  ASSERT_TRUE(store->flush());  // the job ran in the same writer pass
  EXPECT_EQ(store->last_stats().total_peers, 1u);
}

INSTANTIATE_TEST_SUITE_P(BothEngines, PeerStoreEngines,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres), test::engine_name);

}  // namespace
}  // namespace mp::storage

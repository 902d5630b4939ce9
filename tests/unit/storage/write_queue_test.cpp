// WriteQueue: folding of repeated updates, the bound, requeue after a
// failed commit. No disk.
#include "storage/write_queue.hpp"

#include <gtest/gtest.h>

namespace mp::storage {
namespace {

RowUpdate seen(const std::string& peer, const std::string& addr, std::int64_t t) {
  RowUpdate u;
  u.peer_id = peer;
  u.multiaddr = addr;
  u.seen = t;
  return u;
}

RowUpdate failure(const std::string& peer, const std::string& addr) {
  RowUpdate u;
  u.peer_id = peer;
  u.multiaddr = addr;
  u.dial_failures = 1;
  return u;
}

TEST(WriteQueue, RepeatedUpdatesOfOneRowFoldIntoOneEntry) {
  WriteQueue q(10);
  EXPECT_TRUE(q.push(seen("A", "/ip4/1.2.3.4/tcp/1", 100)));
  EXPECT_TRUE(q.push(seen("A", "/ip4/1.2.3.4/tcp/1", 300)));
  EXPECT_TRUE(q.push(seen("A", "/ip4/1.2.3.4/tcp/1", 200)));  // late, older timestamp
  EXPECT_TRUE(q.push(seen("A", "/ip4/1.2.3.4/tcp/2", 200)));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.coalesced(), 2u);
  auto rows = q.take_all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].multiaddr, "/ip4/1.2.3.4/tcp/1");
  EXPECT_EQ(rows[0].seen, 300);  // newest wins
  EXPECT_EQ(rows[1].multiaddr, "/ip4/1.2.3.4/tcp/2");
  EXPECT_TRUE(q.empty());
}

TEST(WriteQueue, BoundRefusesNewRowsButAcceptsUpdatesOfQueuedOnes) {
  WriteQueue q(2);
  EXPECT_TRUE(q.push(seen("A", "x", 1)));
  EXPECT_TRUE(q.push(seen("B", "x", 1)));
  EXPECT_FALSE(q.push(seen("C", "x", 1)));
  EXPECT_TRUE(q.push(seen("A", "x", 5)));
  EXPECT_EQ(q.size(), 2u);
}

TEST(WriteQueue, PeerWideAndRowEntriesAreDistinct) {
  WriteQueue q(10);
  EXPECT_TRUE(q.push(failure("A", "")));
  EXPECT_TRUE(q.push(failure("A", "x")));
  EXPECT_TRUE(q.push(failure("A", "")));
  auto rows = q.take_all();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].multiaddr, "");
  EXPECT_EQ(rows[0].dial_failures, 2u);
  EXPECT_EQ(rows[1].dial_failures, 1u);
}

TEST(WriteQueue, FoldingKeepsTheOrderOfRemoveUpsertSuccessFailure) {
  RowUpdate u = seen("A", "x", 10);
  RowUpdate rm;
  rm.remove = true;
  u.merge_later(rm);
  EXPECT_TRUE(u.remove);
  EXPECT_EQ(u.seen, 0);  // the delete erased the pending upsert

  u.merge_later(seen("A", "x", 20));  // re-added after the delete
  EXPECT_TRUE(u.remove);
  EXPECT_EQ(u.seen, 20);

  u.merge_later(failure("A", "x"));
  u.merge_later(failure("A", "x"));
  EXPECT_EQ(u.dial_failures, 2u);
  RowUpdate ok = seen("A", "x", 30);
  ok.dial_success = true;
  u.merge_later(ok);  // a success forgives earlier failures of the window
  EXPECT_TRUE(u.dial_success);
  EXPECT_EQ(u.dial_failures, 0u);
  u.merge_later(failure("A", "x"));  // a failure after the success still counts
  EXPECT_EQ(u.dial_failures, 1u);
  EXPECT_EQ(u.seen, 30);
}

TEST(WriteQueue, RequeuePutsFailedRowsFirstAndFoldsNewerUpdatesOnTop) {
  WriteQueue q(3);
  ASSERT_TRUE(q.push(seen("A", "x", 1)));
  ASSERT_TRUE(q.push(seen("B", "x", 1)));
  auto failed = q.take_all();
  // While the batch was being written, newer updates arrived.
  ASSERT_TRUE(q.push(seen("B", "x", 7)));
  ASSERT_TRUE(q.push(seen("C", "x", 7)));
  ASSERT_TRUE(q.push(seen("D", "x", 7)));
  EXPECT_EQ(q.requeue(std::move(failed)), 1u);  // D no longer fits
  auto rows = q.take_all();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].peer_id, "A");
  EXPECT_EQ(rows[1].peer_id, "B");
  EXPECT_EQ(rows[1].seen, 7);
  EXPECT_EQ(rows[2].peer_id, "C");
}

}  // namespace
}  // namespace mp::storage

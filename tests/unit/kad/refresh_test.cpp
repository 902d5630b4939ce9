#include "kad/refresh.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace mp::kad {
namespace {

using namespace std::chrono_literals;
using test::random_peer;
using test::t0;

TEST(KadRefresh, StaleBucketsFromTheFarthestDownToTheNearestOccupied) {
  std::mt19937_64 rng(3);
  RoutingTableConfig c;
  c.diversity.enabled = false;
  RoutingTable t(random_peer(rng), c, t0());
  // Nothing is stale right after start.
  EXPECT_TRUE(stale_buckets(t, t0(), rng).empty());

  // Empty table, 5 minutes later: only the farthest bucket.
  auto s = stale_buckets(t, t0() + 5min, rng);
  ASSERT_EQ(s.size(), 2u);  // 255 and one past it (254)
  EXPECT_EQ(s[0].bucket, 255u);

  // Fill with peers: nearest occupied bucket decides the range.
  for (std::uint32_t i = 0; i < 300; ++i) {
    (void)t.update(random_peer(rng), {test::public_addr(i)}, true, t0());
  }
  std::size_t lowest = 255;
  for (std::size_t i = 0; i < 256; ++i) {
    if (!t.bucket(i).entries().empty()) {
      lowest = i;
      break;
    }
  }
  t.mark_refreshed(254, t0() + 4min);
  s = stale_buckets(t, t0() + 5min, rng);
  ASSERT_FALSE(s.empty());
  std::size_t prev = 256;
  for (const auto& r : s) {
    EXPECT_LT(r.bucket, prev);  // farthest first
    prev = r.bucket;
    EXPECT_NE(r.bucket, 254u);  // refreshed a minute ago
    EXPECT_GE(r.bucket + 1, lowest);
    EXPECT_EQ(t.bucket_index(r.target.key), r.bucket);
    EXPECT_EQ(Key::from_bytes(r.target.key_bytes), r.target.key);
  }
  EXPECT_EQ(s.back().bucket + 1, lowest);
  EXPECT_LE(s.size(), 16u);
}

}  // namespace
}  // namespace mp::kad

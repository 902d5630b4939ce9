#include "kad/key.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/hash.hpp"
#include "test_util.hpp"

namespace mp::kad {
namespace {

std::array<std::uint8_t, 32> raw_with(std::size_t byte, std::uint8_t v) {
  std::array<std::uint8_t, 32> r{};
  r[byte] = v;
  return r;
}

TEST(KadKey, IsSha256OfTheBytes) {
  const Bytes b = to_bytes("hello");
  EXPECT_EQ(Key::from_bytes(b).raw(), sha256(b));
  // SHA-256("hello"), a well-known value.
  EXPECT_EQ(Key::from_bytes(b).to_hex(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
}

TEST(KadKey, PeerKeyHashesTheMultihashBytes) {
  std::mt19937_64 rng(1);
  const PeerId p = test::random_peer(rng);
  EXPECT_EQ(Key::from_peer(p), Key::from_bytes(p.bytes()));
}

TEST(KadKey, DistanceAndBucketIndex) {
  const Key zero = Key::from_raw({});
  EXPECT_TRUE(zero.distance(zero).is_zero());
  EXPECT_EQ(zero.distance(zero).bucket_index(), std::nullopt);
  // Highest bit differs: farthest bucket.
  EXPECT_EQ(zero.distance(Key::from_raw(raw_with(0, 0x80))).bucket_index(), 255u);
  EXPECT_EQ(zero.distance(Key::from_raw(raw_with(0, 0x01))).bucket_index(), 248u);
  EXPECT_EQ(zero.distance(Key::from_raw(raw_with(31, 0x01))).bucket_index(), 0u);
  EXPECT_EQ(zero.distance(Key::from_raw(raw_with(31, 0x01))).leading_zeros(), 255u);
  // XOR is symmetric and ordered as a big-endian number.
  const Key a = Key::from_raw(raw_with(1, 0x10));
  const Key b = Key::from_raw(raw_with(2, 0xff));
  EXPECT_EQ(a.distance(b), b.distance(a));
  EXPECT_LT(zero.distance(b), zero.distance(a));
}

TEST(KadKey, RandomKeyFallsInTheRequestedBucket) {
  std::mt19937_64 rng(7);
  const Key local = Key::from_bytes(to_bytes("local"));
  for (std::size_t bucket : {0u, 1u, 7u, 8u, 100u, 247u, 248u, 254u, 255u}) {
    for (int i = 0; i < 20; ++i) {
      const Key k = random_key_in_bucket(local, bucket, rng);
      EXPECT_EQ(local.distance(k).bucket_index(), bucket);
    }
  }
}

TEST(KadKey, RandomPeerIdTargetsAreValidPeerIdsInTheBucket) {
  std::mt19937_64 rng(9);
  const Key local = Key::from_bytes(to_bytes("local"));
  for (std::size_t bucket : {255u, 250u, 245u}) {
    auto t = random_peer_id_in_bucket(local, bucket, rng);
    ASSERT_TRUE(t.has_value());
    EXPECT_TRUE(PeerId::from_bytes(t->key_bytes).ok());
    EXPECT_EQ(Key::from_bytes(t->key_bytes), t->key);
    EXPECT_EQ(local.distance(t->key).bucket_index(), bucket);
  }
  // A bucket ~2^-200 likely cannot be hit in a few tries: the helper gives up.
  EXPECT_FALSE(random_peer_id_in_bucket(local, 50, rng, 100).has_value());
}


// closer_to decides as comparing the two distances would, on random keys
// and on keys sharing long prefixes (where the first differing byte is deep).
TEST(KadKey, CloserToAgreesWithComparingDistances) {
  std::mt19937_64 rng(7);
  auto random = [&] {
    std::array<std::uint8_t, kKeyBytes> raw{};
    for (auto& b : raw) b = static_cast<std::uint8_t>(rng());
    return Key::from_raw(raw);
  };
  int closer = 0;
  for (int i = 0; i < 20'000; ++i) {
    const Key t = random();
    Key a = random();
    Key b = random();
    if (i % 2 == 1) {  // a and b share their first i % 32 bytes
      auto raw = b.raw();
      const auto& ar = a.raw();
      std::copy(ar.begin(), ar.begin() + (i % 32), raw.begin());
      b = Key::from_raw(raw);
    }
    const bool expected = a.distance(t) < b.distance(t);
    ASSERT_EQ(closer_to(t, a, b), expected) << i;
    ASSERT_EQ(closer_to(t, b, a), b.distance(t) < a.distance(t)) << i;
    closer += expected ? 1 : 0;
  }
  EXPECT_GT(closer, 5'000);  // both answers were exercised
  EXPECT_LT(closer, 15'000);
  const Key k = random();
  EXPECT_FALSE(closer_to(random(), k, k));  // equal keys: neither is closer
}

}  // namespace
}  // namespace mp::kad

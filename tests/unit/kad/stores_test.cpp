#include <gtest/gtest.h>

#include "kad/provider_store.hpp"
#include "kad/record_store.hpp"
#include "test_util.hpp"

namespace mp::kad {
namespace {

using namespace std::chrono_literals;
using test::public_addr;
using test::random_peer;
using test::t0;

TEST(RecordStore, StoresReplacesAndExpiresAfter36Hours) {
  RecordStore s;
  const Bytes k = to_bytes("/mepassa/k");
  EXPECT_EQ(s.put(k, to_bytes("v1"), t0()), StoreOutcome::kStored);
  ASSERT_NE(s.get(k, t0()), nullptr);
  EXPECT_EQ(s.get(k, t0())->value, to_bytes("v1"));

  EXPECT_EQ(s.put(k, to_bytes("v2"), t0() + 1h), StoreOutcome::kReplaced);
  EXPECT_EQ(s.get(k, t0() + 1h)->value, to_bytes("v2"));
  // 36 h after the last put it is gone.
  EXPECT_NE(s.get(k, t0() + 1h + 36h - 1s), nullptr);
  EXPECT_EQ(s.get(k, t0() + 1h + 36h), nullptr);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.expire(t0() + 1h + 36h), 1u);
  EXPECT_EQ(s.size(), 0u);
}

TEST(RecordStore, EnforcesSizeAndCountLimits) {
  RecordStoreLimits l;
  l.max_records = 3;
  l.max_key_size = 8;
  l.max_value_size = 16;
  RecordStore s(l);
  EXPECT_EQ(s.put({}, to_bytes("v"), t0()), StoreOutcome::kRefusedKeySize);
  EXPECT_EQ(s.put(to_bytes("123456789"), to_bytes("v"), t0()), StoreOutcome::kRefusedKeySize);
  EXPECT_EQ(s.put(to_bytes("k"), Bytes(17, 1), t0()), StoreOutcome::kRefusedValueSize);
  EXPECT_EQ(s.put(to_bytes("k"), Bytes(16, 1), t0()), StoreOutcome::kStored);
  EXPECT_EQ(s.put(to_bytes("k2"), to_bytes("v"), t0()), StoreOutcome::kStored);
  EXPECT_EQ(s.put(to_bytes("k3"), to_bytes("v"), t0() + 10h), StoreOutcome::kStored);
  EXPECT_EQ(s.put(to_bytes("k4"), to_bytes("v"), t0() + 10h), StoreOutcome::kRefusedFull);
  // Replacing an existing key needs no room.
  EXPECT_EQ(s.put(to_bytes("k2"), to_bytes("w"), t0() + 10h), StoreOutcome::kReplaced);
  // Once the first one expires there is room again.
  EXPECT_EQ(s.put(to_bytes("k4"), to_bytes("v"), t0() + 36h), StoreOutcome::kStored);
  EXPECT_EQ(s.get(to_bytes("k"), t0() + 36h), nullptr);
}

TEST(ProviderStore, AddsRefreshesAndExpiresAfter48Hours) {
  std::mt19937_64 rng(3);
  ProviderStore s;
  const Bytes key = {0x12, 0x02, 0xaa, 0xbb};
  const PeerId a = random_peer(rng);
  const PeerId b = random_peer(rng);
  EXPECT_EQ(s.add(key, a, {public_addr(1)}, t0()), AddProviderOutcome::kAdded);
  EXPECT_EQ(s.add(key, b, {}, t0() + 24h), AddProviderOutcome::kAdded);
  std::vector<const ProviderRecord*> out;
  s.get(key, t0() + 24h, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]->provider, a);
  EXPECT_EQ(out[0]->addrs, std::vector<Multiaddr>{public_addr(1)});

  s.get(key, t0() + 48h, out);  // a expired, b not
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->provider, b);
  // A repeat ADD_PROVIDER refreshes (and keeps the old addresses when none given).
  EXPECT_EQ(s.add(key, b, {}, t0() + 70h), AddProviderOutcome::kRefreshed);
  s.get(key, t0() + 100h, out);
  EXPECT_EQ(out.size(), 1u);
  // a was pruned when b was refreshed; b goes now.
  EXPECT_EQ(s.expire(t0() + 118h), 1u);
  EXPECT_EQ(s.keys(), 0u);
  EXPECT_EQ(s.total(), 0u);
}

TEST(ProviderStore, EnforcesPerKeyAndTotalLimits) {
  std::mt19937_64 rng(4);
  ProviderStoreLimits l;
  l.max_providers_per_key = 2;
  l.max_total_providers = 3;
  l.max_key_size = 4;
  ProviderStore s(l);
  const Bytes k1 = {1}, k2 = {2};
  EXPECT_EQ(s.add(Bytes{1, 2, 3, 4, 5}, random_peer(rng), {}, t0()),
            AddProviderOutcome::kRefusedKeySize);
  EXPECT_EQ(s.add(k1, random_peer(rng), {}, t0()), AddProviderOutcome::kAdded);
  EXPECT_EQ(s.add(k1, random_peer(rng), {}, t0()), AddProviderOutcome::kAdded);
  EXPECT_EQ(s.add(k1, random_peer(rng), {}, t0()), AddProviderOutcome::kRefusedKeyFull);
  EXPECT_EQ(s.add(k2, random_peer(rng), {}, t0() + 1h), AddProviderOutcome::kAdded);
  EXPECT_EQ(s.add(k2, random_peer(rng), {}, t0() + 1h), AddProviderOutcome::kRefusedFull);
  EXPECT_EQ(s.total(), 3u);
  // After k1's providers expire there is room again.
  EXPECT_EQ(s.add(k2, random_peer(rng), {}, t0() + 48h), AddProviderOutcome::kAdded);
  EXPECT_EQ(s.total(), 2u);
}

}  // namespace
}  // namespace mp::kad

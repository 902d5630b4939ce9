#include "core/varint.hpp"

#include <gtest/gtest.h>

#include <random>

namespace mp {
namespace {

// multiformats/unsigned-varint README examples.
TEST(Varint, SpecVectors) {
  struct {
    std::uint64_t value;
    const char* hex;
  } cases[] = {
      {0, "00"},
      {1, "01"},
      {127, "7f"},
      {128, "8001"},
      {255, "ff01"},
      {300, "ac02"},
      {16384, "808001"},
      {(1ull << 63) - 1, "ffffffffffffffff7f"},  // the largest value allowed (9 bytes)
  };
  for (const auto& c : cases) {
    EXPECT_EQ(to_hex(varint::encode(c.value)), c.hex) << c.value;
    EXPECT_EQ(varint::encoded_size(c.value) * 2, std::string(c.hex).size());
    auto d = varint::decode(from_hex(c.hex));
    ASSERT_TRUE(d.has_value()) << c.hex;
    EXPECT_EQ(d->value, c.value);
    EXPECT_EQ(d->size * 2, std::string(c.hex).size());
  }
}

TEST(Varint, StopsAtFirstByteWithoutContinuation) {
  auto d = varint::decode(from_hex("ac02ff"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->value, 300u);
  EXPECT_EQ(d->size, 2u);
}

TEST(Varint, Malformed) {
  varint::Decoded d{};
  EXPECT_EQ(varint::decode({}, d), varint::DecodeStatus::kIncomplete);
  EXPECT_EQ(varint::decode(from_hex("80"), d), varint::DecodeStatus::kIncomplete);
  EXPECT_EQ(varint::decode(from_hex("ff80"), d), varint::DecodeStatus::kIncomplete);
  // Non-minimal encodings (the spec forbids them).
  EXPECT_EQ(varint::decode(from_hex("8100"), d), varint::DecodeStatus::kNotMinimal);
  EXPECT_EQ(varint::decode(from_hex("808000"), d), varint::DecodeStatus::kNotMinimal);
  // More than 9 bytes / over 63 bits.
  EXPECT_EQ(varint::decode(from_hex("ffffffffffffffffff01"), d), varint::DecodeStatus::kOverflow);
  EXPECT_EQ(varint::decode(from_hex("ffffffffffffffffff"), d), varint::DecodeStatus::kOverflow);
  EXPECT_FALSE(varint::decode(from_hex("8100")).has_value());
}

TEST(Varint, RoundTripRandom) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t v = rng() >> (1 + rng() % 63);
    auto d = varint::decode(varint::encode(v));
    ASSERT_TRUE(d.has_value()) << v;
    EXPECT_EQ(d->value, v);
  }
}

}  // namespace
}  // namespace mp

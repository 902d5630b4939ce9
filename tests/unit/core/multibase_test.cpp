#include "core/multibase.hpp"

#include <gtest/gtest.h>

#include <random>

namespace mp {
namespace {

// Vectors from multiformats/multibase tests (test1.csv: "yes mani !",
// leading-zero cases) and the bitcoin base58 test set.
TEST(Base58, Vectors) {
  struct {
    const char* hex;
    const char* b58;
  } cases[] = {
      {"", ""},
      {"61", "2g"},
      {"626262", "a3gV"},
      {"636363", "aPEr"},
      {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
      {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
      {"516b6fcd0f", "ABnLTmg"},
      {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
      {"572e4794", "3EFU7m"},
      {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
      {"10c8511e", "Rt5zm"},
      {"00000000000000000000", "1111111111"},
      {"796573206d616e692021", "7paNL19xttacUY"},        // "yes mani !"
      {"00796573206d616e692021", "17paNL19xttacUY"},     // "\0yes mani !"
      {"0000796573206d616e692021", "117paNL19xttacUY"},  // "\0\0yes mani !"
  };
  for (const auto& c : cases) {
    const Bytes raw = from_hex(c.hex);
    EXPECT_EQ(base58btc_encode(raw), c.b58) << c.hex;
    auto back = base58btc_decode(c.b58);
    ASSERT_TRUE(back.has_value()) << c.b58;
    EXPECT_EQ(*back, raw) << c.b58;
  }
  for (const char* bad : {"0", "O", "I", "l", "3EFU7m ", "+", "\xff"}) {
    EXPECT_FALSE(base58btc_decode(bad).has_value()) << bad;
  }
}

TEST(Base32, Rfc4648Vectors) {
  // RFC 4648 section 10, lower case without padding.
  const char* expect[] = {"", "my", "mzxq", "mzxw6", "mzxw6yq", "mzxw6ytb", "mzxw6ytboi"};
  const std::string foobar = "foobar";
  for (std::size_t n = 0; n <= foobar.size(); ++n) {
    const BytesView in = as_bytes(std::string_view(foobar).substr(0, n));
    EXPECT_EQ(base32_encode(in), expect[n]);
    auto back = base32_decode(expect[n]);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, Bytes(in.begin(), in.end()));
  }
  EXPECT_EQ(*base32_decode("MZXW6YQ="), to_bytes("foob"));
  EXPECT_FALSE(base32_decode("mzxW6").has_value());  // mixed case
  EXPECT_FALSE(base32_decode("m").has_value());      // 5 bits: not a byte
  EXPECT_FALSE(base32_decode("mzx").has_value());    // impossible length
  EXPECT_FALSE(base32_decode("mz").has_value());     // non-zero trailing bits
  EXPECT_FALSE(base32_decode("m1").has_value());
}

TEST(Base64, Vectors) {
  EXPECT_EQ(base64_encode(to_bytes("foobar"), false), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(to_bytes("fooba"), false), "Zm9vYmE");
  EXPECT_EQ(base64_encode(from_hex("fbff"), false), "+/8");
  EXPECT_EQ(base64_encode(from_hex("fbff"), true), "-_8");
  EXPECT_EQ(*base64_decode("Zm9vYg==", false), to_bytes("foob"));
  EXPECT_EQ(*base64_decode("-_8", true), from_hex("fbff"));
  EXPECT_FALSE(base64_decode("-_8", false).has_value());
  EXPECT_FALSE(base64_decode("Z", false).has_value());
  EXPECT_FALSE(base64_decode("Zm9", false).has_value());  // non-zero trailing bits
}

TEST(Multibase, PrefixesFromTheSpecTestSuite) {
  // multiformats/multibase tests/test1.csv, "yes mani !".
  const Bytes v = to_bytes("yes mani !");
  const char* encodings[] = {
      "f796573206d616e692021", "F796573206D616E692021", "bpfsxgidnmfxgsibb", "BPFSXGIDNMFXGSIBB",
      "z7paNL19xttacUY",       "k2lcpzo5yikidynfl",     "K2LCPZO5YIKIDYNFL", "meWVzIG1hbmkgIQ",
      "MeWVzIG1hbmkgIQ==",     "ueWVzIG1hbmkgIQ",       "UeWVzIG1hbmkgIQ==",
  };
  for (const char* e : encodings) {
    auto d = multibase_decode(e);
    ASSERT_TRUE(d.has_value()) << e;
    EXPECT_EQ(*d, v) << e;
  }
  EXPECT_EQ(multibase_encode('b', v), "bpfsxgidnmfxgsibb");
  EXPECT_EQ(multibase_encode('z', v), "z7paNL19xttacUY");
  EXPECT_EQ(multibase_encode('u', v), "ueWVzIG1hbmkgIQ");
  EXPECT_EQ(multibase_encode('m', v), "meWVzIG1hbmkgIQ");
  EXPECT_EQ(multibase_encode('f', v), "f796573206d616e692021");
  EXPECT_EQ(*multibase_decode("k001eyr"), from_hex("0000010203"));  // leading zeros, base36
  EXPECT_FALSE(multibase_decode("k2lcpzo5yiKidynfl").has_value());  // mixed case
  EXPECT_FALSE(multibase_decode("").has_value());
  EXPECT_FALSE(multibase_decode("?abc").has_value());
}

TEST(Multibase, RoundTripRandom) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Bytes b(rng() % 70);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (i % 5 == 0 && !b.empty()) b[0] = 0;
    for (char base : {'z', 'b', 'f', 'm', 'u'}) {
      auto d = multibase_decode(multibase_encode(base, b));
      ASSERT_TRUE(d.has_value());
      EXPECT_EQ(*d, b);
    }
  }
}

}  // namespace
}  // namespace mp

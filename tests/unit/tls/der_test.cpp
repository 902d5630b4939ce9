#include "tls/der.hpp"

#include <gtest/gtest.h>

#include "tls/signed_key.hpp"

namespace mp::tls {
namespace {

TEST(DerTest, LengthsRoundTripInShortAndLongForm) {
  for (std::size_t n : {0u, 1u, 127u, 128u, 255u, 256u, 70000u}) {
    SCOPED_TRACE(n);
    const Bytes content(n, 0xab);
    Bytes out;
    der::write(out, der::kOctetString, content);
    der::Reader r(out);
    auto e = r.next(der::kOctetString);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(Bytes(e->content.begin(), e->content.end()), content);
    EXPECT_EQ(e->whole.size(), out.size());
    EXPECT_TRUE(r.empty());
  }
}

TEST(DerTest, RefusesWhatIsNotDistinguishedOrOverruns) {
  const std::vector<Bytes> bad = {
      {0x04},                             // no length
      {0x04, 0x02, 0x00},                 // length past the end
      {0x04, 0x80, 0x00, 0x00},           // indefinite length (BER only)
      {0x04, 0x81, 0x05, 1, 2, 3, 4, 5},  // long form for a short length
      {0x04, 0x82, 0x00, 0x80},           // leading zero length byte
      {0x04, 0x85, 1, 0, 0, 0, 0},        // five length bytes
      {0x1f, 0x01, 0x00},                 // high tag number form
  };
  for (const Bytes& b : bad) {
    der::Reader r(b);
    EXPECT_FALSE(r.next().has_value()) << to_hex(b);
  }
  const Bytes seq = {0x30, 0x00};
  der::Reader r(seq);
  EXPECT_FALSE(r.next(der::kOctetString).has_value());  // wrong tag: nothing consumed
  EXPECT_TRUE(r.next(der::kSequence).has_value());
}

TEST(SignedKeyTest, RoundTripsAndRefusesExtraOrMissingFields) {
  const SignedKey key{Bytes{8, 1, 18, 0}, Bytes(200, 7)};
  const Bytes der = encode_signed_key(key);
  auto back = decode_signed_key(der);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->public_key, key.public_key);
  EXPECT_EQ(back->signature, key.signature);

  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(decode_signed_key(trailing).has_value());

  Bytes one_field;
  Bytes body;
  der::write(body, der::kOctetString, key.public_key);
  der::write(one_field, der::kSequence, body);
  EXPECT_FALSE(decode_signed_key(one_field).has_value());

  Bytes bit_strings;  // the r0 draft's BIT STRINGs are not what peers send now
  body.clear();
  der::write(body, der::kBitString, key.public_key);
  der::write(body, der::kBitString, key.signature);
  der::write(bit_strings, der::kSequence, body);
  EXPECT_FALSE(decode_signed_key(bit_strings).has_value());
}

TEST(SignedKeyTest, MessageIsThePrefixThenTheKeyInfo) {
  const Bytes spki = {0x30, 0x01, 0x02};
  EXPECT_EQ(as_string(signed_key_message(spki)), std::string("libp2p-tls-handshake:\x30\x01\x02"));
}

}  // namespace
}  // namespace mp::tls

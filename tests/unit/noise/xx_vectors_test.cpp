// The raw Noise layer against the cacophony test vector for
// Noise_XX_25519_ChaChaPoly_SHA256 (haskell-cryptography/cacophony
// vectors/cacophony.txt, as shipped in mcginty/snow tests/vectors): fixed
// static and ephemeral keys, prologue "John Galt", six messages (three
// handshake, then transport messages alternating initiator, responder).
#include <gtest/gtest.h>

#include "noise/xx_handshake.hpp"

namespace mp::noise {
namespace {

Bytes hex(std::string_view s) {
  bool ok = false;
  Bytes b = from_hex(s, &ok);
  EXPECT_TRUE(ok) << s;
  return b;
}

Key32 key(std::string_view s) {
  Bytes b = hex(s);
  Key32 k{};
  EXPECT_EQ(b.size(), k.size());
  std::copy_n(b.begin(), k.size(), k.begin());
  return k;
}

struct VectorMessage {
  std::string_view payload;
  std::string_view ciphertext;
};

constexpr std::string_view kPrologue = "4a6f686e2047616c74";
constexpr std::string_view kInitStatic =
    "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
constexpr std::string_view kInitEphemeral =
    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
constexpr std::string_view kRespStatic =
    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
constexpr std::string_view kRespEphemeral =
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
constexpr std::string_view kHandshakeHash =
    "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e";
constexpr VectorMessage kMessages[] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736"
     "573"},
    {"4d757272617920526f746862617264",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b65"
     "285e08d"
     "6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8"
     "814c7194e"
     "83f23dbd8d162c9326ad"},
    {"462e20412e20486179656b",
     "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865b"
     "57f58c9fe"
     "a0d4ec82a286427402f113e4b6ae769a1d95941d49b25030"},
    {"4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"},
    {"4a65616e2d426170746973746520536179",
     "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"},
};

TEST(XXVectors, CacophonyHandshakeAndTransport) {
  const Bytes prologue = hex(kPrologue);
  XXHandshake init(Role::kInitiator, X25519KeyPair::from_private(key(kInitStatic)), prologue,
                   X25519KeyPair::from_private(key(kInitEphemeral)));
  XXHandshake resp(Role::kResponder, X25519KeyPair::from_private(key(kRespStatic)), prologue,
                   X25519KeyPair::from_private(key(kRespEphemeral)));

  for (int i = 0; i < 3; ++i) {
    XXHandshake& writer = (i % 2 == 0) ? init : resp;
    XXHandshake& reader = (i % 2 == 0) ? resp : init;
    ASSERT_TRUE(writer.is_my_turn());
    ASSERT_FALSE(reader.is_my_turn());
    Bytes msg;
    ASSERT_TRUE(writer.write_message(hex(kMessages[i].payload), msg));
    EXPECT_EQ(to_hex(msg), kMessages[i].ciphertext) << "message " << i;
    Bytes payload;
    ASSERT_TRUE(reader.read_message(msg, payload));
    EXPECT_EQ(to_hex(payload), kMessages[i].payload) << "message " << i;
  }
  ASSERT_TRUE(init.is_complete());
  ASSERT_TRUE(resp.is_complete());
  EXPECT_EQ(to_hex(init.handshake_hash()), kHandshakeHash);
  EXPECT_EQ(to_hex(resp.handshake_hash()), kHandshakeHash);
  ASSERT_TRUE(init.remote_static().has_value());
  EXPECT_EQ(*init.remote_static(), X25519KeyPair::from_private(key(kRespStatic)).public_key);
  EXPECT_EQ(*resp.remote_static(), X25519KeyPair::from_private(key(kInitStatic)).public_key);

  auto init_ciphers = init.split();
  auto resp_ciphers = resp.split();
  ASSERT_TRUE(init_ciphers);
  ASSERT_TRUE(resp_ciphers);
  for (int i = 3; i < 6; ++i) {
    // After the handshake the turns keep alternating: message 4 is the
    // responder's, 5 the initiator's, 6 the responder's.
    const bool from_initiator = i % 2 == 0;
    CipherState& send = from_initiator ? init_ciphers->first : resp_ciphers->first;
    CipherState& recv = from_initiator ? resp_ciphers->second : init_ciphers->second;
    const Bytes pt = hex(kMessages[i].payload);
    Bytes ct(pt.size() + kTagLen);
    auto n = send.encrypt_with_ad({}, pt, ct);
    ASSERT_TRUE(n);
    EXPECT_EQ(to_hex(ct), kMessages[i].ciphertext) << "message " << i;
    Bytes back(ct.size() - kTagLen);
    ASSERT_TRUE(recv.decrypt_with_ad({}, ct, back));
    EXPECT_EQ(back, pt);
  }
}

}  // namespace
}  // namespace mp::noise

// The libp2p Noise handshake state machine, two peers in memory: payload
// signing and verification, expected Peer ID, truncated and tampered
// messages, then transport encryption both ways.
#include "noise/handshake.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <functional>
#include <memory>

#include "noise/framing.hpp"

namespace mp::noise {
namespace {

using ::testing::HasSubstr;

Bytes bytes_of(std::string_view s) {
  return to_bytes(s);
}

// Runs the handshake to completion, passing each message through `tamper`.
struct Pair {
  Handshake init;
  Handshake resp;
};

Status step(Handshake& writer, Handshake& reader,
            const std::function<void(int, Bytes&)>& tamper = {}, int index = 0) {
  Bytes msg;
  if (Status st = writer.write_message(msg); !st) return st;
  if (tamper) tamper(index, msg);
  return reader.read_message(msg);
}

Status run(Handshake& init, Handshake& resp, const std::function<void(int, Bytes&)>& tamper = {}) {
  if (Status st = step(init, resp, tamper, 0); !st) return st;
  if (Status st = step(resp, init, tamper, 1); !st) return st;
  return step(init, resp, tamper, 2);
}

class HandshakeTest : public ::testing::Test {
 protected:
  Ed25519KeyPair alice_key = Ed25519KeyPair::generate();
  Ed25519KeyPair bob_key = Ed25519KeyPair::generate();
  LocalIdentity alice{alice_key};
  LocalIdentity bob{bob_key, {"/yamux/1.0.0"}};
};

TEST_F(HandshakeTest, CompletesAndEncryptsBothWays) {
  Handshake init = Handshake::initiator(alice, bob.peer_id());
  Handshake resp = Handshake::responder(bob);
  EXPECT_TRUE(init.is_my_turn());
  EXPECT_FALSE(resp.is_my_turn());
  ASSERT_TRUE(run(init, resp));
  ASSERT_TRUE(init.is_complete());
  ASSERT_TRUE(resp.is_complete());

  auto a = std::move(init).finish();
  auto b = std::move(resp).finish();
  ASSERT_TRUE(a) << a.message();
  ASSERT_TRUE(b) << b.message();
  EXPECT_EQ(a->remote.peer_id, bob.peer_id());
  EXPECT_EQ(b->remote.peer_id, alice.peer_id());
  EXPECT_EQ(a->remote.public_key, bob_key.public_key());
  EXPECT_EQ(b->remote.public_key, alice_key.public_key());
  EXPECT_EQ(a->remote.stream_muxers, std::vector<std::string>{"/yamux/1.0.0"});
  EXPECT_TRUE(b->remote.stream_muxers.empty());

  for (int i = 0; i < 3; ++i) {
    for (auto [from, to] : {std::pair{&*a, &*b}, std::pair{&*b, &*a}}) {
      const Bytes pt = bytes_of("message " + std::to_string(i));
      Bytes frame;
      ASSERT_TRUE(encrypt_frame(from->send, pt, frame));
      ASSERT_EQ(frame.size(), kFrameHeaderLen + pt.size() + kTagLen);
      EXPECT_EQ(get_frame_header(frame.data()), pt.size() + kTagLen);
      std::span<std::uint8_t> body(frame.data() + kFrameHeaderLen, frame.size() - kFrameHeaderLen);
      EXPECT_NE(Bytes(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(pt.size())), pt);
      auto n = to->recv.decrypt_with_ad({}, body, body);
      ASSERT_TRUE(n) << n.message();
      EXPECT_EQ(Bytes(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(*n)), pt);
    }
  }
  EXPECT_EQ(a->send.nonce(), 3u);
  EXPECT_EQ(a->recv.nonce(), 3u);
}

TEST_F(HandshakeTest, MessageSizesMatchXXWithPayloads) {
  Handshake init = Handshake::initiator(alice);
  Handshake resp = Handshake::responder(bob);
  Bytes m1, m2, m3;
  ASSERT_TRUE(init.write_message(m1));
  EXPECT_EQ(m1.size(), 32u);  // e only: the initiator sends no payload in message 1
  ASSERT_TRUE(resp.read_message(m1));
  ASSERT_TRUE(resp.write_message(m2));
  EXPECT_EQ(m2.size(), 32u + 48u + bob.payload().size() + 16u);
  ASSERT_TRUE(init.read_message(m2));
  ASSERT_TRUE(init.remote().has_value());  // verified before we reveal ourselves
  ASSERT_TRUE(init.write_message(m3));
  EXPECT_EQ(m3.size(), 48u + alice.payload().size() + 16u);
  ASSERT_TRUE(resp.read_message(m3));
  EXPECT_TRUE(resp.is_complete());
}

TEST_F(HandshakeTest, ExpectedPeerIdMismatchIsRefused) {
  const LocalIdentity carol{Ed25519KeyPair::generate()};
  Handshake init = Handshake::initiator(alice, carol.peer_id());
  Handshake resp = Handshake::responder(bob);
  ASSERT_TRUE(step(init, resp));
  Status st = step(resp, init);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.message(), HasSubstr("noise: remote peer id " + bob.peer_id().to_string() +
                                      " does not match expected " + carol.peer_id().to_string()));
  EXPECT_FALSE(init.is_my_turn());
  Bytes m3;
  EXPECT_FALSE(init.write_message(m3));  // we never send our identity to the wrong peer
  EXPECT_FALSE(std::move(init).finish());
}

TEST_F(HandshakeTest, TruncatedMessagesAreRefused) {
  for (int which = 0; which < 3; ++which) {
    Handshake init = Handshake::initiator(alice);
    Handshake resp = Handshake::responder(bob);
    Status st = run(init, resp, [&](int i, Bytes& m) {
      if (i == which) m.resize(which == 0 ? 31 : m.size() - 1);
    });
    ASSERT_FALSE(st) << "message " << which + 1;
    if (which == 0) {
      EXPECT_THAT(st.message(), HasSubstr("truncated"));
    }
  }
  // Cut below the fixed part of messages 2 and 3.
  for (int which = 1; which < 3; ++which) {
    Handshake init = Handshake::initiator(alice);
    Handshake resp = Handshake::responder(bob);
    Status st = run(init, resp, [&](int i, Bytes& m) {
      if (i == which) m.resize(which == 1 ? 95 : 63);
    });
    ASSERT_FALSE(st);
    EXPECT_THAT(st.message(),
                HasSubstr("noise: handshake message " + std::to_string(which + 1) + " truncated"));
  }
}

TEST_F(HandshakeTest, TamperedMessagesAreRefused) {
  // Message 1 is unauthenticated (just e): a changed e only shows up later,
  // as a failure to decrypt message 2.
  for (int which = 0; which < 3; ++which) {
    for (std::size_t pos : {std::size_t{0}, std::size_t{40}, std::size_t{100}}) {
      Handshake init = Handshake::initiator(alice);
      Handshake resp = Handshake::responder(bob);
      bool touched = false;
      Status st = run(init, resp, [&](int i, Bytes& m) {
        if (i == which && pos < m.size()) {
          m[pos] ^= 0x01;
          touched = true;
        }
      });
      if (touched) {
        EXPECT_FALSE(st) << "message " << which + 1 << " byte " << pos;
      }
    }
  }
}

TEST_F(HandshakeTest, TamperedTransportFrameIsRefused) {
  Handshake init = Handshake::initiator(alice);
  Handshake resp = Handshake::responder(bob);
  ASSERT_TRUE(run(init, resp));
  auto a = std::move(init).finish();
  auto b = std::move(resp).finish();
  ASSERT_TRUE(a && b);
  Bytes frame;
  ASSERT_TRUE(encrypt_frame(a->send, bytes_of("hello"), frame));
  frame.back() ^= 0x80;
  std::span<std::uint8_t> body(frame.data() + 2, frame.size() - 2);
  auto n = b->recv.decrypt_with_ad({}, body, body);
  ASSERT_FALSE(n);
  EXPECT_THAT(n.message(), HasSubstr("decryption failed"));
  EXPECT_EQ(b->recv.nonce(), 0u);
}

// A responder speaking raw XX with a payload we build by hand.
Status respond_with_payload(Handshake& init, const X25519KeyPair& static_key,
                            const Bytes& payload) {
  XXHandshake resp(Role::kResponder, static_key);
  Bytes m1, m2, ignored;
  if (Status st = init.write_message(m1); !st) return st;
  if (Status st = resp.read_message(m1, ignored); !st) return st;
  if (Status st = resp.write_message(payload, m2); !st) return st;
  return init.read_message(m2);
}

Bytes signed_static(const Key32& static_public) {
  Bytes msg = to_bytes(kStaticKeySignaturePrefix);
  append(msg, static_public);
  return msg;
}

TEST_F(HandshakeTest, SignatureByAnotherKeyIsRefused) {
  const X25519KeyPair s = X25519KeyPair::generate();
  const Ed25519KeyPair mallory = Ed25519KeyPair::generate();
  // Claims Bob's identity, but the signature is Mallory's.
  const Bytes payload =
      encode_payload(bob_key.public_key().to_protobuf(), mallory.sign(signed_static(s.public_key)));
  Handshake init = Handshake::initiator(alice);
  Status st = respond_with_payload(init, s, payload);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.message(), "noise: identity signature does not verify");
}

TEST_F(HandshakeTest, SignatureOverAnotherStaticKeyIsRefused) {
  // A replayed payload: Bob's genuine signature, but over a different static key.
  const X25519KeyPair s = X25519KeyPair::generate();
  Handshake init = Handshake::initiator(alice);
  Status st = respond_with_payload(init, s, bob.payload());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.message(), "noise: identity signature does not verify");
}

TEST_F(HandshakeTest, BadPayloadsAreRefused) {
  const X25519KeyPair s = X25519KeyPair::generate();
  {
    Handshake init = Handshake::initiator(alice);
    Status st = respond_with_payload(init, s, {});
    ASSERT_FALSE(st);
    EXPECT_THAT(st.message(), HasSubstr("no identity key"));
  }
  {
    Handshake init = Handshake::initiator(alice);
    Status st = respond_with_payload(init, s, Bytes{0x0a, 0x05, 0x01});  // length past the end
    ASSERT_FALSE(st);
    EXPECT_THAT(st.message(), HasSubstr("not a valid NoiseHandshakePayload"));
  }
  {
    Handshake init = Handshake::initiator(alice);
    const Bytes payload = encode_payload(Bytes{0x08, 0x09, 0x12, 0x01, 0x00},
                                         bob_key.sign(signed_static(s.public_key)));
    Status st = respond_with_payload(init, s, payload);
    ASSERT_FALSE(st);
    EXPECT_THAT(st.message(), HasSubstr("noise: remote identity key"));
  }
}

TEST_F(HandshakeTest, ResponderChecksInitiatorPayload) {
  // The initiator (raw XX) sends a payload signed by the wrong key in message 3.
  const X25519KeyPair s = X25519KeyPair::generate();
  const Ed25519KeyPair mallory = Ed25519KeyPair::generate();
  XXHandshake init(Role::kInitiator, s);
  Handshake resp = Handshake::responder(bob);
  Bytes m1, m2, m3, payload;
  ASSERT_TRUE(init.write_message({}, m1));
  ASSERT_TRUE(resp.read_message(m1));
  ASSERT_TRUE(resp.write_message(m2));
  ASSERT_TRUE(init.read_message(m2, payload));
  ASSERT_TRUE(init.write_message(encode_payload(alice_key.public_key().to_protobuf(),
                                                mallory.sign(signed_static(s.public_key))),
                                 m3));
  Status st = resp.read_message(m3);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.message(), "noise: identity signature does not verify");
  EXPECT_FALSE(resp.is_complete());
  EXPECT_FALSE(std::move(resp).finish());
}

TEST_F(HandshakeTest, OutOfTurnCallsFail) {
  Handshake init = Handshake::initiator(alice);
  Handshake resp = Handshake::responder(bob);
  Bytes m;
  EXPECT_FALSE(resp.write_message(m));
  EXPECT_FALSE(init.read_message(Bytes(32)));
}

// --- Remote identity keys of other types (signatures made with OpenSSL here,
// since our own identity is always Ed25519).

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Bytes public_key_protobuf(int type, const Bytes& data) {
  Bytes out{0x08, static_cast<std::uint8_t>(type), 0x12};
  std::size_t len = data.size();
  do {  // varint length
    std::uint8_t b = len & 0x7f;
    len >>= 7;
    out.push_back(static_cast<std::uint8_t>(b | (len ? 0x80 : 0)));
  } while (len);
  append(out, data);
  return out;
}

Bytes spki_der(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

Bytes sha256_sign(EVP_PKEY* key, BytesView msg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key), 1);
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, msg.data(), msg.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(EVP_DigestSign(ctx, sig.data(), &len, msg.data(), msg.size()), 1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

struct ForeignKey {
  std::string name;
  Pkey key;
  Bytes protobuf;
  KeyType type;
};

std::vector<ForeignKey> foreign_keys() {
  std::vector<ForeignKey> keys;
  {
    Pkey k(EVP_EC_gen("P-256"));
    Bytes pb = public_key_protobuf(3, spki_der(k.get()));
    keys.push_back({"ECDSA P-256", std::move(k), pb, KeyType::kEcdsa});
  }
  {
    Pkey k(EVP_EC_gen("secp256k1"));
    // Uncompressed point 04 || x || y, compressed by hand to (02|03) || x.
    Bytes raw(65);
    std::size_t len = 0;
    EXPECT_EQ(EVP_PKEY_get_octet_string_param(k.get(), OSSL_PKEY_PARAM_PUB_KEY, raw.data(),
                                              raw.size(), &len),
              1);
    EXPECT_EQ(len, 65u);
    Bytes point{static_cast<std::uint8_t>(0x02 | (raw[64] & 1))};
    point.insert(point.end(), raw.begin() + 1, raw.begin() + 33);
    Bytes pb = public_key_protobuf(2, point);
    keys.push_back({"secp256k1", std::move(k), pb, KeyType::kSecp256k1});
  }
  {
    Pkey k(EVP_RSA_gen(2048));
    Bytes pb = public_key_protobuf(0, spki_der(k.get()));
    keys.push_back({"RSA 2048", std::move(k), pb, KeyType::kRsa});
  }
  return keys;
}

TEST_F(HandshakeTest, AcceptsEcdsaSecp256k1AndRsaIdentities) {
  for (ForeignKey& fk : foreign_keys()) {
    SCOPED_TRACE(fk.name);
    auto pub = PublicKey::from_protobuf(fk.protobuf);
    ASSERT_TRUE(pub) << pub.message();
    const PeerId expected = PeerId::from_public_key(*pub);
    const X25519KeyPair s = X25519KeyPair::generate();
    const Bytes payload =
        encode_payload(fk.protobuf, sha256_sign(fk.key.get(), signed_static(s.public_key)));
    Handshake init = Handshake::initiator(alice, expected);
    Status st = respond_with_payload(init, s, payload);
    ASSERT_TRUE(st) << st.message();
    ASSERT_TRUE(init.remote().has_value());
    EXPECT_EQ(init.remote()->peer_id, expected);
    EXPECT_EQ(init.remote()->public_key.type(), fk.type);

    // The same key signing a different static key is refused.
    Handshake init2 = Handshake::initiator(alice);
    Status bad = respond_with_payload(init2, X25519KeyPair::generate(), payload);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.message(), "noise: identity signature does not verify");
  }
}

// --- CipherState edge cases.

TEST(CipherStateTest, RefusesToReuseTheLastNonce) {
  Key32 k{};
  k[0] = 7;
  CipherState c(k);
  Bytes out(16);
  c.set_nonce(~std::uint64_t{0} - 1);
  ASSERT_TRUE(c.encrypt_with_ad({}, {}, out));  // n = 2^64-2 is the last usable nonce
  auto r = c.encrypt_with_ad({}, {}, out);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("nonce exhausted"));
  auto d = c.decrypt_with_ad({}, out, out);
  EXPECT_FALSE(d);
}

TEST(CipherStateTest, NonceIsLittleEndianCounterAfterFourZeroBytes) {
  // Two states with the same key agree only if they use the same nonce;
  // a message encrypted at n=0x0102 decrypts only at n=0x0102.
  Key32 k{};
  k[31] = 1;
  CipherState enc(k), dec(k);
  enc.set_nonce(0x0102);
  const Bytes pt = to_bytes("x");
  Bytes ct(pt.size() + kTagLen), back(pt.size());
  ASSERT_TRUE(enc.encrypt_with_ad({}, pt, ct));
  dec.set_nonce(0x0201);
  EXPECT_FALSE(dec.decrypt_with_ad({}, ct, back));
  dec.set_nonce(0x0102);
  EXPECT_TRUE(dec.decrypt_with_ad({}, ct, back));
  EXPECT_EQ(back, pt);
}

}  // namespace
}  // namespace mp::noise

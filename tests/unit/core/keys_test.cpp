#include "core/keys.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "core/peer_id.hpp"
#include "core/varint.hpp"
#include "spec_key_vectors.hpp"

namespace mp {
namespace {

namespace tv = test_vectors;

Bytes hex(std::string_view h) {
  bool ok = false;
  Bytes b = from_hex(h, &ok);
  EXPECT_TRUE(ok) << h;
  return b;
}

// The Data field of a spec vector, read by hand (independently of keys.cpp).
Bytes data_field(const Bytes& pb) {
  EXPECT_EQ(pb.at(0), 0x08);
  EXPECT_EQ(pb.at(2), 0x12);
  auto len = varint::decode(BytesView(pb).subspan(3));
  EXPECT_TRUE(len.has_value());
  EXPECT_EQ(3 + len->size + len->value, pb.size());
  return Bytes(pb.begin() + static_cast<std::ptrdiff_t>(3 + len->size), pb.end());
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PkeyPtr parse_private_der(int type, const Bytes& der) {
  const unsigned char* p = der.data();
  return PkeyPtr(d2i_PrivateKey(type, nullptr, &p, static_cast<long>(der.size())), &EVP_PKEY_free);
}

Bytes pkix_der(EVP_PKEY* k) {
  unsigned char* out = nullptr;
  const int n = i2d_PUBKEY(k, &out);
  EXPECT_GT(n, 0);
  Bytes b(out, out + n);
  OPENSSL_free(out);
  return b;
}

// DER ECDSA / PKCS#1 v1.5 signature over SHA-256(msg), made with OpenSSL.
Bytes sign_sha256(EVP_PKEY* k, BytesView msg) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, k), 1);
  std::size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()), 1);
  sig.resize(len);
  return sig;
}

// SEC1 compressed form of an EC public key: 02|03 (parity of y) || x.
Bytes compressed_point(EVP_PKEY* k) {
  Bytes point(65);
  std::size_t len = 0;
  EXPECT_EQ(
      EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(), &len),
      1);
  if (len != 65 || point[0] != 0x04) return {};
  Bytes out(33);
  out[0] = (point[64] & 1) ? 0x03 : 0x02;
  for (std::size_t i = 1; i < 33; ++i) out[i] = point[i];
  return out;
}

const Bytes kMsg = to_bytes("libp2p-signed-message");

// ------------------------------------------------------------------ Ed25519

TEST(Ed25519, SpecVectorPrivateGivesSpecPublic) {
  auto kp = Ed25519KeyPair::from_protobuf_private(hex(tv::kEd25519Private));
  ASSERT_TRUE(kp.ok()) << kp.message();
  EXPECT_EQ(kp->public_key().to_protobuf(), hex(tv::kEd25519Public));
  EXPECT_EQ(kp->to_protobuf_private(), hex(tv::kEd25519Private));
}

TEST(Ed25519, SpecVectorPublicDecodes) {
  auto pk = PublicKey::from_protobuf(hex(tv::kEd25519Public));
  ASSERT_TRUE(pk.ok()) << pk.message();
  EXPECT_EQ(pk->type(), KeyType::kEd25519);
  EXPECT_EQ(pk->data(), data_field(hex(tv::kEd25519Public)));
  EXPECT_EQ(pk->to_protobuf(), hex(tv::kEd25519Public));
}

TEST(Ed25519, Rfc8032TestVector1) {
  // RFC 8032 section 7.1, TEST 1 (empty message).
  auto kp = Ed25519KeyPair::from_secret(
      hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(kp.ok());
  EXPECT_EQ(to_hex(kp->public_raw()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const Bytes sig = kp->sign({});
  EXPECT_EQ(to_hex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(kp->public_key().verify({}, sig));
}

TEST(Ed25519, SignVerifyAndTamper) {
  const auto kp = Ed25519KeyPair::generate();
  const Bytes sig = kp.sign(kMsg);
  ASSERT_EQ(sig.size(), 64u);
  const PublicKey pk = kp.public_key();
  EXPECT_TRUE(pk.verify(kMsg, sig));

  Bytes bad_sig = sig;
  bad_sig[10] ^= 0x01;
  EXPECT_FALSE(pk.verify(kMsg, bad_sig));
  Bytes bad_msg = kMsg;
  bad_msg.back() ^= 0x01;
  EXPECT_FALSE(pk.verify(bad_msg, sig));
  EXPECT_FALSE(pk.verify(kMsg, BytesView(sig).first(63)));
  EXPECT_FALSE(pk.verify(kMsg, {}));
  EXPECT_FALSE(Ed25519KeyPair::generate().public_key().verify(kMsg, sig));
  EXPECT_FALSE(PublicKey{}.verify(kMsg, sig));
}

TEST(Ed25519, GenerateGivesDistinctKeys) {
  EXPECT_NE(Ed25519KeyPair::generate().secret(), Ed25519KeyPair::generate().secret());
}

TEST(Ed25519, FromSecretRejectsWrongLength) {
  EXPECT_FALSE(Ed25519KeyPair::from_secret(Bytes(31, 1)).ok());
  EXPECT_FALSE(Ed25519KeyPair::from_secret(Bytes(33, 1)).ok());
}

TEST(Ed25519, SeedStringMatchesJsLibp2p) {
  // Expected values obtained with js-libp2p (@libp2p/crypto 5.1.23,
  // @libp2p/peer-id 6.0.15, tests/interop/node_modules):
  //   seed = sha256("mepassa-bootstrap-test-seed")
  //   key = await generateKeyPairFromSeed('Ed25519', seed)
  //   peerIdFromPrivateKey(key).toString() / .toCID().toString()
  //   privateKeyToProtobuf(key)
  const auto kp = Ed25519KeyPair::from_seed_string("mepassa-bootstrap-test-seed");
  const PeerId id = PeerId::from_public_key(kp.public_key());
  EXPECT_EQ(id.to_base58(), "12D3KooWA9SnjJKWzb8ny4NhTVpWgC4ngKWPeYfvJUJnWmvSJGFe");
  EXPECT_EQ(id.to_cid(), "bafzaajaiaejcabhdij6tqdxqmvcxxm4gu7f75tuhyukkr45km5tibo3axbnxr5cf");
  EXPECT_EQ(to_hex(kp.to_protobuf_private()),
            "08011240c13d9ac14df2440d945b810cb1b594dab33c3276e38362b2c4202693ee8c7fe5"
            "04e3427d380ef065457bb386a7cbfece87c514a8f3aa676680bb60b85b78f445");
}

TEST(Ed25519, PrivateKeyFormats) {
  const auto kp = Ed25519KeyPair::generate();
  const Bytes secret(kp.secret().begin(), kp.secret().end());
  const Bytes pub(kp.public_raw().begin(), kp.public_raw().end());
  auto encode = [](const Bytes& data) {
    Bytes out{0x08, 0x01, 0x12, static_cast<std::uint8_t>(data.size())};
    append(out, data);
    return out;
  };
  Bytes d64 = secret;
  append(d64, pub);
  Bytes d96 = d64;
  append(d96, pub);

  for (const Bytes& data : {secret, d64, d96}) {
    auto r = Ed25519KeyPair::from_protobuf_private(encode(data));
    ASSERT_TRUE(r.ok()) << data.size() << ": " << r.message();
    EXPECT_EQ(r->public_raw(), kp.public_raw());
  }
  // Legacy 96-byte form whose two public copies differ.
  Bytes bad96 = d96;
  bad96.back() ^= 1;
  EXPECT_FALSE(Ed25519KeyPair::from_protobuf_private(encode(bad96)).ok());
  // Public half that is not the secret's.
  Bytes bad64 = d64;
  bad64[40] ^= 1;
  EXPECT_FALSE(Ed25519KeyPair::from_protobuf_private(encode(bad64)).ok());
  EXPECT_FALSE(Ed25519KeyPair::from_protobuf_private(encode(Bytes(48, 7))).ok());
  // Not an Ed25519 key.
  EXPECT_FALSE(Ed25519KeyPair::from_protobuf_private(hex(tv::kSecp256k1Private)).ok());
}

// ---------------------------------------------------------------- secp256k1

TEST(Secp256k1, SpecVectorPublicMatchesPrivate) {
  const Bytes pub_pb = hex(tv::kSecp256k1Public);
  auto pk = PublicKey::from_protobuf(pub_pb);
  ASSERT_TRUE(pk.ok()) << pk.message();
  EXPECT_EQ(pk->type(), KeyType::kSecp256k1);
  EXPECT_EQ(pk->to_protobuf(), pub_pb);

  // The spec's public key is the private scalar times the generator.
  const Bytes priv = data_field(hex(tv::kSecp256k1Private));
  ASSERT_EQ(priv.size(), 32u);
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_secp256k1);
  BIGNUM* d = BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr);
  EC_POINT* q = EC_POINT_new(group);
  ASSERT_EQ(EC_POINT_mul(group, q, d, nullptr, nullptr, nullptr), 1);
  Bytes point(33);
  ASSERT_EQ(EC_POINT_point2oct(group, q, POINT_CONVERSION_COMPRESSED, point.data(), point.size(),
                               nullptr),
            33u);
  EXPECT_EQ(point, pk->data());
  EC_POINT_free(q);
  BN_free(d);
  EC_GROUP_free(group);
}

TEST(Secp256k1, VerifiesOpenSslSignatures) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"), &EVP_PKEY_free);
  ASSERT_TRUE(key);
  const Bytes point = compressed_point(key.get());
  ASSERT_EQ(point.size(), 33u);
  auto pk = PublicKey::from_raw(KeyType::kSecp256k1, point);
  ASSERT_TRUE(pk.ok()) << pk.message();
  const Bytes sig = sign_sha256(key.get(), kMsg);
  EXPECT_TRUE(pk->verify(kMsg, sig));
  Bytes bad_msg = kMsg;
  bad_msg[0] ^= 1;
  EXPECT_FALSE(pk->verify(bad_msg, sig));
  Bytes bad_sig = sig;
  bad_sig[bad_sig.size() - 3] ^= 1;
  EXPECT_FALSE(pk->verify(kMsg, bad_sig));
  EXPECT_FALSE(pk->verify(kMsg, Bytes(64, 0x30)));  // garbage, not DER
}

TEST(Secp256k1, RejectsBadPoints) {
  Bytes point = data_field(hex(tv::kSecp256k1Public));
  Bytes uncompressed_prefix = point;
  uncompressed_prefix[0] = 0x04;
  EXPECT_FALSE(PublicKey::from_raw(KeyType::kSecp256k1, uncompressed_prefix).ok());
  EXPECT_FALSE(PublicKey::from_raw(KeyType::kSecp256k1, BytesView(point).first(32)).ok());
  // x = 5 has no point on secp256k1 (5^3 + 7 = 132 is not a square mod p).
  Bytes off_curve(33, 0);
  off_curve[0] = 0x02;
  off_curve[32] = 5;
  EXPECT_FALSE(PublicKey::from_raw(KeyType::kSecp256k1, off_curve).ok());
}

// -------------------------------------------------------------------- ECDSA

TEST(Ecdsa, SpecVectorPublicMatchesPrivateAndVerifies) {
  const Bytes pub_pb = hex(tv::kEcdsaPublic);
  auto pk = PublicKey::from_protobuf(pub_pb);
  ASSERT_TRUE(pk.ok()) << pk.message();
  EXPECT_EQ(pk->type(), KeyType::kEcdsa);
  EXPECT_EQ(pk->to_protobuf(), pub_pb);

  auto priv = parse_private_der(EVP_PKEY_EC, data_field(hex(tv::kEcdsaPrivate)));
  ASSERT_TRUE(priv);
  EXPECT_EQ(pkix_der(priv.get()), pk->data());
  const Bytes sig = sign_sha256(priv.get(), kMsg);
  EXPECT_TRUE(pk->verify(kMsg, sig));
  Bytes bad_sig = sig;
  bad_sig[bad_sig.size() - 1] ^= 1;
  EXPECT_FALSE(pk->verify(kMsg, bad_sig));
}

TEST(Ecdsa, GeneratedP384KeyVerifies) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), &EVP_PKEY_free);
  ASSERT_TRUE(key);
  auto pk = PublicKey::from_raw(KeyType::kEcdsa, pkix_der(key.get()));
  ASSERT_TRUE(pk.ok()) << pk.message();
  EXPECT_TRUE(pk->verify(kMsg, sign_sha256(key.get(), kMsg)));
}

TEST(Ecdsa, RejectsMalformedOrWrongKinds) {
  Bytes der = data_field(hex(tv::kEcdsaPublic));
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(PublicKey::from_raw(KeyType::kEcdsa, trailing).ok());
  EXPECT_FALSE(PublicKey::from_raw(KeyType::kEcdsa, BytesView(der).first(der.size() - 1)).ok());
  // A secp256k1 key in PKIX form is not a NIST curve.
  PkeyPtr k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"), &EVP_PKEY_free);
  EXPECT_FALSE(PublicKey::from_raw(KeyType::kEcdsa, pkix_der(k1.get())).ok());
  // An RSA key labelled ECDSA, and the reverse.
  EXPECT_FALSE(PublicKey::from_raw(KeyType::kEcdsa, data_field(hex(tv::kRsaPublic))).ok());
  EXPECT_FALSE(PublicKey::from_raw(KeyType::kRsa, der).ok());
}

// ---------------------------------------------------------------------- RSA

TEST(Rsa, SpecVectorPublicMatchesPrivateAndVerifies) {
  const Bytes pub_pb = hex(tv::kRsaPublic);
  auto pk = PublicKey::from_protobuf(pub_pb);
  ASSERT_TRUE(pk.ok()) << pk.message();
  EXPECT_EQ(pk->type(), KeyType::kRsa);
  EXPECT_EQ(pk->to_protobuf(), pub_pb);

  // Private key: PKCS#1 DER.
  auto priv = parse_private_der(EVP_PKEY_RSA, data_field(hex(tv::kRsaPrivate)));
  ASSERT_TRUE(priv);
  EXPECT_EQ(pkix_der(priv.get()), pk->data());
  const Bytes sig = sign_sha256(priv.get(), kMsg);
  EXPECT_TRUE(pk->verify(kMsg, sig));
  Bytes bad_msg = kMsg;
  bad_msg[3] ^= 1;
  EXPECT_FALSE(pk->verify(bad_msg, sig));
}

TEST(Rsa, SizeLimits) {
  PkeyPtr small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024)),
                &EVP_PKEY_free);
  ASSERT_TRUE(small);
  auto r = PublicKey::from_raw(KeyType::kRsa, pkix_der(small.get()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("1024"), std::string::npos) << r.message();

  PkeyPtr ok(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)),
             &EVP_PKEY_free);
  ASSERT_TRUE(ok);
  auto pk = PublicKey::from_raw(KeyType::kRsa, pkix_der(ok.get()));
  ASSERT_TRUE(pk.ok()) << pk.message();
  EXPECT_TRUE(pk->verify(kMsg, sign_sha256(ok.get(), kMsg)));
}

// ----------------------------------------------------------- protobuf decode

TEST(PublicKeyProtobuf, RejectsMalformed) {
  const Bytes good = hex(tv::kEd25519Public);
  EXPECT_FALSE(PublicKey::from_protobuf({}).ok());
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(PublicKey::from_protobuf(BytesView(good).first(n)).ok()) << n;
  }
  Bytes unknown_type = good;
  unknown_type[1] = 4;
  auto r = PublicKey::from_protobuf(unknown_type);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("unknown key type"), std::string::npos) << r.message();
  // Data missing.
  EXPECT_FALSE(PublicKey::from_protobuf(hex("0801")).ok());
  // Type missing.
  EXPECT_FALSE(PublicKey::from_protobuf(BytesView(good).subspan(2)).ok());
  // Length longer than the buffer.
  Bytes long_len = good;
  long_len[3] = 0x7f;
  EXPECT_FALSE(PublicKey::from_protobuf(long_len).ok());
  // Field number 0 is not a valid protobuf field.
  Bytes field0 = good;
  field0.push_back(0x00);
  field0.push_back(0x00);
  EXPECT_FALSE(PublicKey::from_protobuf(field0).ok());
  // Group wire type.
  Bytes group = good;
  group.push_back(0x1b);
  EXPECT_FALSE(PublicKey::from_protobuf(group).ok());
}

TEST(PublicKeyProtobuf, LenientOrderAndUnknownFieldsButCanonicalOutput) {
  const Bytes good = hex(tv::kEd25519Public);
  // Data first, then Type, then an unknown varint field 3.
  Bytes reordered(good.begin() + 2, good.end());
  append(reordered, hex("0801"));
  append(reordered, hex("1805"));
  auto pk = PublicKey::from_protobuf(reordered);
  ASSERT_TRUE(pk.ok()) << pk.message();
  EXPECT_EQ(pk->to_protobuf(), good);
}

TEST(PublicKeyProtobuf, RandomInputNeverCrashes) {
  std::mt19937 rng(1234);
  const Bytes good = hex(tv::kEd25519Public);
  for (int i = 0; i < 20000; ++i) {
    Bytes b;
    if (i % 2 == 0) {
      b.resize(rng() % 64);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    } else {
      b = good;  // mutate a valid encoding
      for (int j = 0; j < 3; ++j) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    }
    auto r = PublicKey::from_protobuf(b);
    if (r.ok()) (void)r->verify(b, b);
    (void)Ed25519KeyPair::from_protobuf_private(b);
  }
}

// ------------------------------------------------------------ identity file

class IdentityFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mp-keys-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "identity.key").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Bytes read_file() const {
    std::ifstream f(path_, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), {});
  }
  void write_file(const Bytes& b) const {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(IdentityFile, CreatesWithMode0600ThenReuses) {
  bool created = false;
  auto first = load_or_create_identity(path_, &created);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(), first->to_protobuf_private());
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));

  auto second = load_or_create_identity(path_, &created);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_FALSE(created);
  EXPECT_EQ(second->secret(), first->secret());
  EXPECT_EQ(PeerId::from_public_key(second->public_key()),
            PeerId::from_public_key(first->public_key()));
}

TEST_F(IdentityFile, LoadsKeyWrittenByOtherImplementations) {
  write_file(hex(tv::kEd25519Private));
  bool created = true;
  auto kp = load_or_create_identity(path_, &created);
  ASSERT_TRUE(kp.ok()) << kp.message();
  EXPECT_FALSE(created);
  EXPECT_EQ(kp->public_key().to_protobuf(), hex(tv::kEd25519Public));
}

TEST_F(IdentityFile, CorruptFileIsAnErrorAndLeftAlone) {
  const Bytes junk = to_bytes("not a key at all\n");
  write_file(junk);
  auto kp = load_or_create_identity(path_);
  ASSERT_FALSE(kp.ok());
  EXPECT_NE(kp.message().find(path_), std::string::npos) << kp.message();
  EXPECT_EQ(read_file(), junk);

  write_file({});
  EXPECT_FALSE(load_or_create_identity(path_).ok());
  EXPECT_TRUE(read_file().empty());
}

TEST_F(IdentityFile, MissingDirectoryIsAnError) {
  auto kp = load_or_create_identity((dir_ / "no" / "such" / "identity.key").string());
  EXPECT_FALSE(kp.ok());
}

}  // namespace
}  // namespace mp

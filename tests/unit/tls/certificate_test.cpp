#include "tls/certificate.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "tls/der.hpp"
#include "tls/signed_key.hpp"
#include "foreign_keys.hpp"

namespace mp::tls {
namespace {

using namespace std::chrono_literals;

// libp2p/specs tls/tls.md "Test vectors" (valid 1975 to 4096).
constexpr const char* kEd25519Vector =
    "308201ae30820156a0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c"
    "69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f343039363031"
    "30313133303030305a302031123010060355040a13096c69627032702e696f310a3008060355040513013130"
    "59301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9"
    "d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569e"
    "a37c307a3078060a2b0601040183a25a0101046a3068042408011220a77f1d92fedb59dddaea5a1c4abd1ac2fb"
    "de7d7b879ed364501809923d7c11b90440d90d2769db992d5e6195dbb08e706b6651e024fda6cfb8846694a435"
    "519941cac215a8207792e42849cccc6cd8136c6e4bde92a58c5e08cfd4206eb5fe0bf909300a06082a8648ce3d"
    "0403020346003043021f50f6b6c52711a881778718238f650c9fb48943ae6ee6d28427dc6071ae55e702203625"
    "f116a7a454db9c56986c82a25682f7248ea1cb764d322ea983ed36a31b77";
constexpr const char* kEcdsaVector =
    "308201f63082019da0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c"
    "69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f343039363031"
    "30313133303030305a302031123010060355040a13096c69627032702e696f310a3008060355040513013130"
    "59301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9"
    "d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569e"
    "a381c23081bf3081bc060a2b0601040183a25a01010481ad3081aa045f0803125b3059301306072a8648ce3d02"
    "0106082a8648ce3d03010703420004bf30511f909414ebdd3242178fd290f093a551cf75c973155de0bb5a96fe"
    "df6cb5d52da7563e794b512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f2044730450220064ea81247"
    "74caf8f50e57f436aa62350ce652418c019df5d98a3ac666c9386a022100aa59d704a931b5f72fb9222cb6cc51"
    "f954d04a4e2e5450f8805fe8918f71eaae300a06082a8648ce3d04030203470030440220799395b0b6c1e940a7"
    "e4484705f610ab51ed376f19ff9d7c16757cfbf61b8d4302206205c03fbb0f95205c779be86581d3e31c01871a"
    "d5d1f3435bcf375cb0e5088a";
constexpr const char* kSecp256k1Vector =
    "308201ba3082015fa0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c"
    "69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f343039363031"
    "30313133303030305a302031123010060355040a13096c69627032702e696f310a3008060355040513013130"
    "59301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9"
    "d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569e"
    "a38184308181307f060a2b0601040183a25a01010471306f0425080212210206dc6968726765b820f050263ece"
    "cf7f71e4955892776c0970542efd689d2382044630440220145e15a991961f0d08cd15425bb95ec93f6ffa03c5"
    "a385eedc34ecf464c7a8ab022026b3109b8a3f40ef833169777eb2aa337cfb6282f188de0666d1bcec2a4690dd"
    "300a06082a8648ce3d0403020349003046022100e1a217eeef9ec9204b3f774a08b70849646b6a1e6b8b27f93d"
    "c00ed58545d9fe022100b00dafa549d0f03547878338c7b15e7502888f6d45db387e5ae6b5d46899cef0";
// Its SignedKey signature is not the host key's over this certificate's key.
constexpr const char* kInvalidVector =
    "308201f73082019da0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c"
    "69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f343039363031"
    "30313133303030305a302031123010060355040a13096c69627032702e696f310a3008060355040513013130"
    "59301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9"
    "d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569e"
    "a381c23081bf3081bc060a2b0601040183a25a01010481ad3081aa045f0803125b3059301306072a8648ce3d02"
    "0106082a8648ce3d03010703420004bf30511f909414ebdd3242178fd290f093a551cf75c973155de0bb5a96fe"
    "df6cb5d52da7563e794b512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f204473045022100bb6e0357"
    "7b7cc7a3cd1558df0da2b117dfdcc0399bc2504ebe7de6f65cade72802206de96e2a5be9b6202adba24ee0362e"
    "490641ac45c240db71fe955f2c5cf8df6e300a06082a8648ce3d0403020348003045022100e847f267f4371735"
    "8f850355bdcabbefb2cfbf8a3c043b203a14788a092fe8db022027c1d04a2d41fd6b57a7e8b3989e470325de44"
    "06e52e084e34a3fd56eef0d0df";

Bytes hex(const char* h) {
  bool ok = false;
  Bytes b = from_hex(h, &ok);
  EXPECT_TRUE(ok);
  return b;
}

CertificateSpec spec_for(const Ed25519KeyPair& host) {
  CertificateSpec spec;
  spec.host_public_key = host.public_key().to_protobuf();
  spec.sign = [host](BytesView msg) { return host.sign(msg); };
  return spec;
}

Certificate build(const CertificateSpec& spec) {
  auto c = make_certificate(spec);
  EXPECT_TRUE(c) << (c ? "" : c.message());
  return c ? std::move(c).value() : Certificate{};
}

TEST(CertificateTest, OurCertificateVerifiesToOurPeerId) {
  const Ed25519KeyPair host = Ed25519KeyPair::generate();
  auto cert = make_certificate(host);
  ASSERT_TRUE(cert) << cert.message();
  EXPECT_NE(cert->cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(cert->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_LT(cert->cert_der.size(), 1024u);

  VerifyResult r = verify_certificate(cert->cert_der);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->peer, PeerId::from_public_key(host.public_key()));
  EXPECT_EQ(r->key, host.public_key());

  // A fresh certificate key per call: the SubjectPublicKeyInfo differs.
  auto again = make_certificate(host);
  ASSERT_TRUE(again);
  const BytesView a = der::split_certificate(again->cert_der)->spki;
  const BytesView b = der::split_certificate(cert->cert_der)->spki;
  EXPECT_NE(Bytes(a.begin(), a.end()), Bytes(b.begin(), b.end()));
}

TEST(CertificateTest, SpecVectorsOfEveryKeyTypeVerify) {
  struct Vector {
    const char* der;
    const char* peer;
    KeyType type;
  };
  for (const Vector& v : {Vector{kEd25519Vector, "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv",
                                 KeyType::kEd25519},
                          Vector{kEcdsaVector, "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE",
                                 KeyType::kEcdsa},
                          Vector{kSecp256k1Vector,
                                 "16Uiu2HAkutTMoTzDw1tCvSRtu6YoixJwS46S1ZFxW8hSx9fWHiPs",
                                 KeyType::kSecp256k1}}) {
    SCOPED_TRACE(v.peer);
    VerifyResult r = verify_certificate(hex(v.der));
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->peer.to_base58(), v.peer);
    EXPECT_EQ(r->key.type(), v.type);
  }
  VerifyResult bad = verify_certificate(hex(kInvalidVector));
  EXPECT_EQ(bad.code(), Errc::bad_extension_signature) << bad.message();
}

TEST(CertificateTest, ForeignHostKeysAreAccepted) {
  for (const test::ForeignHostKey& fk : test::foreign_host_keys()) {
    SCOPED_TRACE(fk.name);
    CertificateSpec spec;
    spec.host_public_key = fk.public_key.to_protobuf();
    spec.sign = [&fk](BytesView msg) { return fk.sign(msg); };
    VerifyResult r = verify_certificate(build(spec).cert_der);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->peer, PeerId::from_public_key(fk.public_key));
    EXPECT_EQ(r->key.type(), fk.public_key.type());
  }
}

TEST(CertificateTest, CriticalExtensionIsAccepted) {
  const Ed25519KeyPair host = Ed25519KeyPair::generate();
  CertificateSpec spec = spec_for(host);
  spec.extension_critical = true;
  VerifyResult r = verify_certificate(build(spec).cert_der);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->peer, PeerId::from_public_key(host.public_key()));
}

TEST(CertificateTest, WithoutTheExtensionIsRefused) {
  CertificateSpec spec = spec_for(Ed25519KeyPair::generate());
  spec.with_extension = false;
  EXPECT_EQ(verify_certificate(build(spec).cert_der).code(), Errc::missing_extension);
}

TEST(CertificateTest, SignatureByAnotherHostKeyIsRefused) {
  const Ed25519KeyPair host = Ed25519KeyPair::generate();
  const Ed25519KeyPair other = Ed25519KeyPair::generate();
  CertificateSpec spec = spec_for(host);
  spec.sign = [other](BytesView msg) { return other.sign(msg); };
  EXPECT_EQ(verify_certificate(build(spec).cert_der).code(), Errc::bad_extension_signature);
}

TEST(CertificateTest, SignatureOverAnotherMessageIsRefused) {
  const Ed25519KeyPair host = Ed25519KeyPair::generate();
  CertificateSpec spec = spec_for(host);
  // Signed without the "libp2p-tls-handshake:" prefix.
  spec.sign = [host](BytesView msg) {
    return host.sign(msg.subspan(kSignaturePrefix.size()));
  };
  EXPECT_EQ(verify_certificate(build(spec).cert_der).code(), Errc::bad_extension_signature);
}

TEST(CertificateTest, ExpiredAndNotYetValidAreRefused) {
  CertificateSpec spec = spec_for(Ed25519KeyPair::generate());
  spec.not_before = -2h;
  spec.not_after = -1h;
  EXPECT_EQ(verify_certificate(build(spec).cert_der).code(), Errc::expired);
  spec.not_before = 1h;
  spec.not_after = 2h;
  EXPECT_EQ(verify_certificate(build(spec).cert_der).code(), Errc::not_yet_valid);
}

TEST(CertificateTest, MalformedHostKeyInTheExtensionIsRefused) {
  CertificateSpec spec = spec_for(Ed25519KeyPair::generate());
  spec.host_public_key = {0x08, 0x01, 0x12, 0x03, 1, 2, 3};  // Ed25519 of 3 bytes
  EXPECT_EQ(verify_certificate(build(spec).cert_der).code(), Errc::malformed_extension);
}

TEST(CertificateTest, BrokenSelfSignatureIsRefused) {
  auto cert = make_certificate(Ed25519KeyPair::generate());
  ASSERT_TRUE(cert);
  Bytes der = cert->cert_der;
  // The signature BIT STRING ends the certificate: flip its last byte (an
  // INTEGER of the ECDSA signature, so the DER stays well formed).
  der.back() ^= 0x01;
  EXPECT_EQ(verify_certificate(der).code(), Errc::bad_self_signature);
}

TEST(CertificateTest, GarbageAndTruncationAreMalformed) {
  EXPECT_EQ(verify_certificate(Bytes{}).code(), Errc::malformed_certificate);
  EXPECT_EQ(verify_certificate(to_bytes("not a certificate")).code(),
            Errc::malformed_certificate);
  auto cert = make_certificate(Ed25519KeyPair::generate());
  ASSERT_TRUE(cert);
  for (std::size_t cut : {std::size_t{1}, std::size_t{10}, cert->cert_der.size() / 2}) {
    const Bytes truncated(cert->cert_der.begin(), cert->cert_der.end() - static_cast<long>(cut));
    EXPECT_EQ(verify_certificate(truncated).code(), Errc::malformed_certificate) << cut;
  }
  Bytes trailing = cert->cert_der;
  trailing.push_back(0);
  EXPECT_EQ(verify_certificate(trailing).code(), Errc::malformed_certificate);
}

TEST(CertificateTest, OversizedInputIsRefusedBeforeParsing) {
  auto cert = make_certificate(Ed25519KeyPair::generate());
  ASSERT_TRUE(cert);
  Bytes big = cert->cert_der;
  big.resize(kMaxCertificateBytes + 1);
  VerifyResult r = verify_certificate(big);
  EXPECT_EQ(r.code(), Errc::certificate_too_large);
  EXPECT_EQ(r.code().category().name(), std::string("tls"));
  EXPECT_NE(r.message().find("16385 bytes"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace mp::tls

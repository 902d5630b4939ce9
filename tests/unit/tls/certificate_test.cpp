#include "tls/certificate.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "foreign_keys.hpp"
#include "spec_vectors.hpp"
#include "tls/der.hpp"
#include "tls/signed_key.hpp"

namespace mp::tls {
namespace {

using namespace std::chrono_literals;
using namespace test_vectors;

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
  for (const Vector& v :
       {Vector{kEd25519Vector, "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv",
               KeyType::kEd25519},
        Vector{kEcdsaVector, "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE", KeyType::kEcdsa},
        Vector{kSecp256k1Vector, "16Uiu2HAkutTMoTzDw1tCvSRtu6YoixJwS46S1ZFxW8hSx9fWHiPs",
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

TEST(CertificateTest, UnknownExtensionsAreIgnoredUnlessCritical) {
  const Ed25519KeyPair host = Ed25519KeyPair::generate();
  CertificateSpec spec = spec_for(host);
  const Bytes null_value = {0x05, 0x00};
  // Non-critical and unknown: ignored. Critical basic constraints: understood.
  spec.extra_extensions = {{"1.3.6.1.4.1.99999.1", null_value, false},
                           {"2.5.29.19", {0x30, 0x00}, true}};
  VerifyResult r = verify_certificate(build(spec).cert_der);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->peer, PeerId::from_public_key(host.public_key()));

  spec.extra_extensions = {{"1.3.6.1.4.1.99999.1", null_value, true}};
  r = verify_certificate(build(spec).cert_der);
  EXPECT_EQ(r.code(), Errc::unknown_critical_extension);
  EXPECT_NE(r.message().find("1.3.6.1.4.1.99999.1"), std::string::npos) << r.message();
}

TEST(CertificateTest, DeprecatedUniqueIdIsRefused) {
  CertificateSpec spec = spec_for(Ed25519KeyPair::generate());
  spec.subject_unique_id = {1, 2, 3, 4};
  VerifyResult r = verify_certificate(build(spec).cert_der);
  EXPECT_EQ(r.code(), Errc::malformed_certificate);
  EXPECT_NE(r.message().find("unique id"), std::string::npos) << r.message();
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
  spec.sign = [host](BytesView msg) { return host.sign(msg.subspan(kSignaturePrefix.size())); };
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
  EXPECT_EQ(verify_certificate(to_bytes("not a certificate")).code(), Errc::malformed_certificate);
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
  EXPECT_EQ(errc_name(Errc::certificate_too_large), "certificate_too_large");
  EXPECT_EQ(errc_name(Errc::setup_failed), "setup_failed");  // the last one
  EXPECT_EQ(errc_name(static_cast<Errc>(0)), "unknown");
  EXPECT_NE(r.message().find("16385 bytes"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace mp::tls

#include "tls/certificate.hpp"

#include <gnutls/crypto.h>

#include <array>
#include <ctime>

#include "tls/gnutls_ptr.hpp"
#include "tls/signed_key.hpp"

namespace mp::tls {

using namespace detail;

namespace {

Error gnutls_failure(const char* what, int rc) {
  return make_error(std::string("tls certificate: ") + what + ": " + gnutls_strerror(rc));
}

}  // namespace

std::string VerifyResult::message() const {
  if (ok()) return {};
  const Failure& f = std::get<1>(v_);
  return f.detail.empty() ? f.code.message() : f.code.message() + ": " + f.detail;
}

Result<Certificate> make_certificate(const Ed25519KeyPair& host_key) {
  CertificateSpec spec;
  spec.host_public_key = host_key.public_key().to_protobuf();
  spec.sign = [&host_key](BytesView msg) { return host_key.sign(msg); };
  return make_certificate(spec);
}

Result<Certificate> make_certificate(const CertificateSpec& spec) {
  gnutls_x509_privkey_t raw_key = nullptr;
  if (int rc = gnutls_x509_privkey_init(&raw_key); rc < 0) return gnutls_failure("key", rc);
  PrivkeyPtr key(raw_key);
  if (int rc = gnutls_x509_privkey_generate(key.get(), GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
      rc < 0) {
    return gnutls_failure("generating the P-256 key", rc);
  }
  gnutls_x509_crt_t raw_crt = nullptr;
  if (int rc = gnutls_x509_crt_init(&raw_crt); rc < 0) return gnutls_failure("certificate", rc);
  CrtPtr crt(raw_crt);

  std::array<std::uint8_t, 16> serial{};
  if (int rc = gnutls_rnd(GNUTLS_RND_NONCE, serial.data(), serial.size()); rc < 0) {
    return gnutls_failure("serial", rc);
  }
  serial[0] &= 0x7f;  // a positive INTEGER
  serial[0] |= 0x01;  // and minimal
  const std::time_t now = std::time(nullptr);
  int rc = gnutls_x509_crt_set_version(crt.get(), 3);
  if (rc >= 0) rc = gnutls_x509_crt_set_serial(crt.get(), serial.data(), serial.size());
  if (rc >= 0) rc = gnutls_x509_crt_set_key(crt.get(), key.get());
  if (rc >= 0) rc = gnutls_x509_crt_set_dn(crt.get(), "CN=libp2p", nullptr);
  if (rc >= 0) rc = gnutls_x509_crt_set_activation_time(crt.get(), now + spec.not_before.count());
  if (rc >= 0) rc = gnutls_x509_crt_set_expiration_time(crt.get(), now + spec.not_after.count());
  if (rc < 0) return gnutls_failure("certificate fields", rc);

  if (spec.with_extension) {
    // The host key signs the SubjectPublicKeyInfo the certificate will carry.
    gnutls_pubkey_t raw_pub = nullptr;
    if (rc = gnutls_pubkey_init(&raw_pub); rc < 0) return gnutls_failure("public key", rc);
    PubkeyPtr pub(raw_pub);
    gnutls_datum_t spki_der{};
    if (rc = gnutls_pubkey_import_x509(pub.get(), crt.get(), 0); rc >= 0) {
      rc = gnutls_pubkey_export2(pub.get(), GNUTLS_X509_FMT_DER, &spki_der);
    }
    if (rc < 0) return gnutls_failure("exporting the certificate key", rc);
    DatumPtr spki_der_owner(spki_der.data);
    const Bytes message = signed_key_message(BytesView(spki_der.data, spki_der.size));
    const Bytes ext = encode_signed_key({spec.host_public_key, spec.sign(message)});
    rc = gnutls_x509_crt_set_extension_by_oid(crt.get(), kExtensionOid, ext.data(), ext.size(),
                                              spec.extension_critical ? 1 : 0);
    if (rc < 0) return gnutls_failure("libp2p extension", rc);
  }
  for (const CertificateSpec::Extension& e : spec.extra_extensions) {
    rc = gnutls_x509_crt_set_extension_by_oid(crt.get(), e.oid.c_str(), e.value.data(),
                                              e.value.size(), e.critical ? 1 : 0);
    if (rc < 0) return gnutls_failure("extra extension", rc);
  }
  if (!spec.subject_unique_id.empty()) {
    rc = gnutls_x509_crt_set_subject_unique_id(crt.get(), spec.subject_unique_id.data(),
                                               spec.subject_unique_id.size());
    if (rc < 0) return gnutls_failure("unique id", rc);
  }
  if (rc = gnutls_x509_crt_sign2(crt.get(), crt.get(), key.get(), GNUTLS_DIG_SHA256, 0); rc < 0) {
    return gnutls_failure("signing", rc);
  }

  Certificate out;
  gnutls_datum_t d{};
  if (rc = gnutls_x509_crt_export2(crt.get(), GNUTLS_X509_FMT_DER, &d); rc < 0) {
    return gnutls_failure("exporting DER", rc);
  }
  out.cert_der.assign(d.data, d.data + d.size);
  DatumPtr(d.data).reset();
  if (rc = gnutls_x509_crt_export2(crt.get(), GNUTLS_X509_FMT_PEM, &d); rc < 0) {
    return gnutls_failure("exporting PEM", rc);
  }
  out.cert_pem.assign(reinterpret_cast<const char*>(d.data), d.size);
  DatumPtr(d.data).reset();
  if (rc = gnutls_x509_privkey_export2_pkcs8(key.get(), GNUTLS_X509_FMT_PEM, nullptr,
                                             GNUTLS_PKCS_PLAIN, &d);
      rc < 0) {
    return gnutls_failure("exporting the key", rc);
  }
  out.key_pem.assign(reinterpret_cast<const char*>(d.data), d.size);
  DatumPtr(d.data).reset();
  return out;
}

}  // namespace mp::tls

// verify_certificate: the checks of libp2p/specs tls/tls.md "Peer
// Authentication", cheapest first, the two signature checks last.
#include <array>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "tls/certificate.hpp"
#include "tls/der.hpp"
#include "tls/gnutls_ptr.hpp"
#include "tls/signed_key.hpp"

namespace mp::tls {

using namespace detail;

namespace {

// Why a check refused the certificate; nullopt: it passed.
struct Refusal {
  Errc code;
  std::string detail;
};
using Check = std::optional<Refusal>;

// Critical extensions a libp2p peer may set and we understand well enough to
// ignore for a self-signed certificate (as Go's crypto/x509 does): basic
// constraints, key usage, extended key usage.
bool understood_critical(std::string_view oid) {
  return oid == "2.5.29.19" || oid == "2.5.29.15" || oid == "2.5.29.37";
}

bool has_unique_id(gnutls_x509_crt_t crt, bool issuer) {
  std::array<char, 1> buf{};
  std::size_t size = buf.size();
  const int rc = issuer ? gnutls_x509_crt_get_issuer_unique_id(crt, buf.data(), &size)
                        : gnutls_x509_crt_get_subject_unique_id(crt, buf.data(), &size);
  // Absent: GnuTLS reports "not found" (which code depends on the version).
  return rc >= 0 || rc == GNUTLS_E_SHORT_MEMORY_BUFFER;
}

// Finds the libp2p extension; rejects unknown critical ones and duplicates.
Check find_extension(gnutls_x509_crt_t crt, Bytes& value) {
  bool found = false;
  for (unsigned idx = 0;; ++idx) {
    std::array<char, 128> oid{};
    std::size_t oid_size = oid.size();
    unsigned critical = 0;
    const int rc = gnutls_x509_crt_get_extension_info(crt, idx, oid.data(), &oid_size, &critical);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
    if (rc < 0) return Refusal{Errc::malformed_certificate, "extension list"};
    const std::string_view name(oid.data(), strnlen(oid.data(), oid.size()));
    if (name == kExtensionOid) {
      if (found) return Refusal{Errc::malformed_extension, "the extension appears twice"};
      gnutls_datum_t d{};
      if (gnutls_x509_crt_get_extension_data2(crt, idx, &d) < 0) {
        return Refusal{Errc::malformed_extension, "unreadable"};
      }
      value.assign(d.data, d.data + d.size);
      DatumPtr(d.data).reset();
      found = true;
    } else if (critical && !understood_critical(name)) {
      return Refusal{Errc::unknown_critical_extension, std::string(name)};
    }
  }
  if (!found) return Refusal{Errc::missing_extension, ""};
  return std::nullopt;
}

// The certificate's key: a kind TLS 1.3 can sign with, RSA within bounds.
Check check_certificate_key(gnutls_pubkey_t pub) {
  unsigned bits = 0;
  const int algo = gnutls_pubkey_get_pk_algorithm(pub, &bits);
  switch (algo) {
    case GNUTLS_PK_ECDSA:
    case GNUTLS_PK_EDDSA_ED25519:
    case GNUTLS_PK_EDDSA_ED448:
      return std::nullopt;
    case GNUTLS_PK_RSA:
    case GNUTLS_PK_RSA_PSS:
      if (bits < static_cast<unsigned>(kMinRsaBits) || bits > static_cast<unsigned>(kMaxRsaBits)) {
        return Refusal{Errc::unsupported_certificate_key,
                       "RSA of " + std::to_string(bits) + " bits"};
      }
      return std::nullopt;
    default:
      return Refusal{Errc::unsupported_certificate_key,
                     algo < 0
                         ? "unreadable"
                         : gnutls_pk_algorithm_get_name(static_cast<gnutls_pk_algorithm_t>(algo))};
  }
}

Check check_self_signature(gnutls_x509_crt_t crt, gnutls_pubkey_t pub, BytesView tbs) {
  const int algo = gnutls_x509_crt_get_signature_algorithm(crt);
  if (algo <= 0) return Refusal{Errc::bad_self_signature, "unknown signature algorithm"};
  // The largest signature we can accept: RSA of kMaxRsaBits.
  std::array<char, kMaxRsaBits / 8 + 16> sig{};
  std::size_t sig_size = sig.size();
  if (gnutls_x509_crt_get_signature(crt, sig.data(), &sig_size) < 0) {
    return Refusal{Errc::bad_self_signature, "unreadable signature"};
  }
  const gnutls_datum_t data = datum(tbs.data(), tbs.size());
  const gnutls_datum_t signature = datum(sig.data(), sig_size);
  // Flags 0: GnuTLS refuses signature algorithms it considers insecure (SHA-1).
  const int rc = gnutls_pubkey_verify_data2(pub, static_cast<gnutls_sign_algorithm_t>(algo), 0,
                                            &data, &signature);
  if (rc < 0) return Refusal{Errc::bad_self_signature, gnutls_strerror(rc)};
  return std::nullopt;
}

}  // namespace

VerifyResult verify_certificate(std::span<const std::uint8_t> cert_der) {
  if (cert_der.size() > kMaxCertificateBytes) {
    return {Errc::certificate_too_large, std::to_string(cert_der.size()) + " bytes"};
  }
  const auto fields = der::split_certificate(cert_der);
  if (!fields) return {Errc::malformed_certificate, "not a DER certificate"};

  gnutls_x509_crt_t raw_crt = nullptr;
  if (gnutls_x509_crt_init(&raw_crt) < 0) return {Errc::setup_failed, "out of memory"};
  CrtPtr crt(raw_crt);
  const gnutls_datum_t in = datum(cert_der.data(), cert_der.size());
  if (int rc = gnutls_x509_crt_import(crt.get(), &in, GNUTLS_X509_FMT_DER); rc < 0) {
    return {Errc::malformed_certificate, gnutls_strerror(rc)};
  }
  // "Certificates MUST omit the deprecated subjectUniqueId and
  // issuerUniqueId fields. Endpoints MAY abort": we do.
  if (has_unique_id(crt.get(), false) || has_unique_id(crt.get(), true)) {
    return {Errc::malformed_certificate, "unique id present"};
  }

  const std::time_t not_before = gnutls_x509_crt_get_activation_time(crt.get());
  const std::time_t not_after = gnutls_x509_crt_get_expiration_time(crt.get());
  if (not_before == static_cast<std::time_t>(-1) || not_after == static_cast<std::time_t>(-1)) {
    return {Errc::malformed_certificate, "validity"};
  }
  const std::time_t now = std::time(nullptr);
  if (now < not_before) return {Errc::not_yet_valid, ""};
  if (now > not_after) return {Errc::expired, ""};

  Bytes ext;
  if (auto r = find_extension(crt.get(), ext)) return {r->code, r->detail};
  auto signed_key = decode_signed_key(ext);
  if (!signed_key) return {Errc::malformed_extension, "not a DER SignedKey"};
  auto host_key = PublicKey::from_protobuf(signed_key->public_key);
  if (!host_key) return {Errc::malformed_extension, host_key.message()};

  gnutls_pubkey_t raw_pub = nullptr;
  if (gnutls_pubkey_init(&raw_pub) < 0) return {Errc::setup_failed, "out of memory"};
  PubkeyPtr pub(raw_pub);
  if (int rc = gnutls_pubkey_import_x509(pub.get(), crt.get(), 0); rc < 0) {
    return {Errc::unsupported_certificate_key, gnutls_strerror(rc)};
  }
  if (auto r = check_certificate_key(pub.get())) return {r->code, r->detail};
  if (auto r = check_self_signature(crt.get(), pub.get(), fields->tbs)) {
    return {r->code, r->detail};
  }

  if (!host_key->verify(signed_key_message(fields->spki), signed_key->signature)) {
    return {Errc::bad_extension_signature, key_type_name(host_key->type())};
  }
  PeerId peer = PeerId::from_public_key(*host_key);
  return VerifiedPeer{std::move(*host_key), std::move(peer)};
}

}  // namespace mp::tls

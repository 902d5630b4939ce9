#include "tls/certificate.hpp"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <ctime>

namespace mp::tls {

namespace {

constexpr const char* kExtensionOid = "1.3.6.1.4.1.53594.1.1";
constexpr std::string_view kSignaturePrefix = "libp2p-tls-handshake:";
// TLS 1.3 only, the ciphers QUIC allows (RFC 9001 section 5.3).
constexpr const char* kPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1";

Error gnutls_error(std::string_view what, int rv) {
  return make_error(std::string(what) + ": " + gnutls_strerror(rv));
}

void der_append(Bytes& out, std::uint8_t tag, BytesView value) {
  out.push_back(tag);
  const std::size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
  }
  out.insert(out.end(), value.begin(), value.end());
}

// Reads one DER TLV with `tag` from the front of `in` (lengths up to 2 bytes).
std::optional<BytesView> der_take(BytesView& in, std::uint8_t tag) {
  if (in.size() < 2 || in[0] != tag) return std::nullopt;
  std::size_t len = in[1];
  std::size_t hdr = 2;
  if (len == 0x81 || len == 0x82) {
    const std::size_t k = len - 0x80;
    if (in.size() < 2 + k) return std::nullopt;
    len = 0;
    for (std::size_t i = 0; i < k; ++i) len = (len << 8) | in[2 + i];
    hdr += k;
  } else if (len >= 0x80) {
    return std::nullopt;
  }
  if (in.size() - hdr < len) return std::nullopt;
  BytesView value = in.subspan(hdr, len);
  in = in.subspan(hdr + len);
  return value;
}

template <typename T, void (*Free)(T)>
struct Owned {
  T v = nullptr;
  ~Owned() {
    if (v) Free(v);
  }
};
using Crt = Owned<gnutls_x509_crt_t, gnutls_x509_crt_deinit>;
using Priv = Owned<gnutls_x509_privkey_t, gnutls_x509_privkey_deinit>;
using Pub = Owned<gnutls_pubkey_t, gnutls_pubkey_deinit>;

Result<Bytes> spki_of(gnutls_pubkey_t pub) {
  gnutls_datum_t d{};
  if (int rv = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &d); rv < 0)
    return gnutls_error("export public key", rv);
  Bytes out(d.data, d.data + d.size);
  gnutls_free(d.data);
  return out;
}

std::string export_text(int rv, gnutls_datum_t& d) {
  if (rv < 0) return {};
  std::string s(reinterpret_cast<char*>(d.data), d.size);
  gnutls_free(d.data);
  return s;
}

int verify_peer_callback(gnutls_session_t s) {
  unsigned n = 0;
  const gnutls_datum_t* list = gnutls_certificate_get_peers(s, &n);
  // libp2p/specs tls/tls.md: exactly one certificate.
  if (!list || n != 1) return -1;
  return verify_certificate({list[0].data, list[0].size}) ? 0 : -1;
}

}  // namespace

Result<Certificate> make_certificate(const Ed25519KeyPair& host_key) {
  Priv key;
  Crt crt;
  Pub pub;
  int rv = gnutls_x509_privkey_init(&key.v);
  if (rv >= 0)
    rv = gnutls_x509_privkey_generate(key.v, GNUTLS_PK_ECDSA,
                                      GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
  if (rv < 0) return gnutls_error("generate certificate key", rv);
  if ((rv = gnutls_pubkey_init(&pub.v)) < 0) return gnutls_error("pubkey", rv);
  gnutls_privkey_t abstract = nullptr;
  gnutls_privkey_init(&abstract);
  gnutls_privkey_import_x509(abstract, key.v, 0);
  rv = gnutls_pubkey_import_privkey(pub.v, abstract, 0, 0);
  gnutls_privkey_deinit(abstract);
  if (rv < 0) return gnutls_error("public half of certificate key", rv);
  auto spki = spki_of(pub.v);
  if (!spki) return spki.error();

  Bytes message(kSignaturePrefix.begin(), kSignaturePrefix.end());
  message.insert(message.end(), spki->begin(), spki->end());
  Bytes inner;
  der_append(inner, 0x04, host_key.public_key().to_protobuf());
  der_append(inner, 0x04, host_key.sign(message));
  Bytes extension;
  der_append(extension, 0x30, inner);

  std::uint8_t serial[8];
  gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f;
  const std::time_t now = std::time(nullptr);
  if ((rv = gnutls_x509_crt_init(&crt.v)) < 0 || (rv = gnutls_x509_crt_set_version(crt.v, 3)) < 0 ||
      (rv = gnutls_x509_crt_set_serial(crt.v, serial, sizeof serial)) < 0 ||
      (rv = gnutls_x509_crt_set_activation_time(crt.v, now - 3600)) < 0 ||
      (rv = gnutls_x509_crt_set_expiration_time(crt.v, now + 365 * 24 * 3600)) < 0 ||
      (rv = gnutls_x509_crt_set_key(crt.v, key.v)) < 0 ||
      (rv = gnutls_x509_crt_set_extension_by_oid(crt.v, kExtensionOid, extension.data(),
                                                 extension.size(), 1)) < 0 ||
      (rv = gnutls_x509_crt_sign2(crt.v, crt.v, key.v, GNUTLS_DIG_SHA256, 0)) < 0) {
    return gnutls_error("build certificate", rv);
  }
  Certificate out;
  gnutls_datum_t d{};
  out.cert_pem = export_text(gnutls_x509_crt_export2(crt.v, GNUTLS_X509_FMT_PEM, &d), d);
  const std::string der = export_text(gnutls_x509_crt_export2(crt.v, GNUTLS_X509_FMT_DER, &d), d);
  out.cert_der.assign(der.begin(), der.end());
  out.key_pem = export_text(gnutls_x509_privkey_export2(key.v, GNUTLS_X509_FMT_PEM, &d), d);
  if (out.cert_pem.empty() || out.key_pem.empty() || der.empty())
    return make_error("export certificate failed");
  return out;
}

Result<VerifiedPeer> verify_certificate(std::span<const std::uint8_t> cert_der) {
  Crt crt;
  Pub pub;
  const gnutls_datum_t datum{const_cast<unsigned char*>(cert_der.data()),
                             static_cast<unsigned>(cert_der.size())};
  int rv = gnutls_x509_crt_init(&crt.v);
  if (rv >= 0) rv = gnutls_x509_crt_import(crt.v, &datum, GNUTLS_X509_FMT_DER);
  if (rv < 0) return gnutls_error("certificate", rv);
  const std::time_t now = std::time(nullptr);
  if (gnutls_x509_crt_get_activation_time(crt.v) > now ||
      gnutls_x509_crt_get_expiration_time(crt.v) < now)
    return make_error("certificate outside its validity period");
  unsigned status = 0;
  rv = gnutls_x509_crt_verify(crt.v, &crt.v, 1, GNUTLS_VERIFY_DO_NOT_ALLOW_SAME, &status);
  if (rv < 0 || (status & GNUTLS_CERT_SIGNATURE_FAILURE))
    return make_error("certificate self-signature invalid");

  std::uint8_t ext[1024];
  std::size_t ext_size = sizeof ext;
  unsigned critical = 0;
  rv = gnutls_x509_crt_get_extension_by_oid(crt.v, kExtensionOid, 0, ext, &ext_size, &critical);
  if (rv < 0) return make_error("certificate has no libp2p public key extension");
  BytesView in(ext, ext_size);
  auto seq = der_take(in, 0x30);
  if (!seq || !in.empty()) return make_error("libp2p extension: not a DER sequence");
  auto key_bytes = der_take(*seq, 0x04);
  auto signature = key_bytes ? der_take(*seq, 0x04) : std::nullopt;
  if (!signature || !seq->empty()) return make_error("libp2p extension: malformed");
  auto host_key = PublicKey::from_protobuf(*key_bytes);
  if (!host_key) return make_error("libp2p extension: " + host_key.message());

  if ((rv = gnutls_pubkey_init(&pub.v)) < 0 || (rv = gnutls_pubkey_import_x509(pub.v, crt.v, 0)) < 0)
    return gnutls_error("certificate key", rv);
  auto spki = spki_of(pub.v);
  if (!spki) return spki.error();
  Bytes message(kSignaturePrefix.begin(), kSignaturePrefix.end());
  message.insert(message.end(), spki->begin(), spki->end());
  if (!host_key->verify(message, *signature))
    return make_error("libp2p extension: signature does not match the host key");
  VerifiedPeer out{*host_key, PeerId::from_public_key(*host_key)};
  return out;
}

Result<std::shared_ptr<Credentials>> Credentials::create(const Certificate& cert) {
  std::shared_ptr<Credentials> c(new Credentials());
  int rv = gnutls_certificate_allocate_credentials(&c->cred_);
  if (rv < 0) return gnutls_error("credentials", rv);
  const gnutls_datum_t crt{reinterpret_cast<unsigned char*>(const_cast<char*>(cert.cert_pem.data())),
                           static_cast<unsigned>(cert.cert_pem.size())};
  const gnutls_datum_t key{reinterpret_cast<unsigned char*>(const_cast<char*>(cert.key_pem.data())),
                           static_cast<unsigned>(cert.key_pem.size())};
  rv = gnutls_certificate_set_x509_key_mem(c->cred_, &crt, &key, GNUTLS_X509_FMT_PEM);
  if (rv < 0) return gnutls_error("load certificate", rv);
  gnutls_certificate_set_verify_function(c->cred_, verify_peer_callback);
  return c;
}

Credentials::~Credentials() {
  if (cred_) gnutls_certificate_free_credentials(cred_);
}

Status configure_session(gnutls_session_t s, const Credentials& creds, bool is_server,
                         std::optional<PeerId> /*expected_peer: see header*/) {
  int rv = gnutls_priority_set_direct(s, kPriority, nullptr);
  if (rv >= 0) rv = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds.native());
  if (rv < 0) return gnutls_error("configure TLS session", rv);
  if (is_server) gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn.data())),
                      static_cast<unsigned>(kAlpn.size())};
  rv = gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY);
  if (rv < 0) return gnutls_error("ALPN", rv);
  return Status::Ok();
}

std::optional<VerifiedPeer> peer_of(gnutls_session_t s) {
  unsigned n = 0;
  const gnutls_datum_t* list = gnutls_certificate_get_peers(s, &n);
  if (!list || n != 1) return std::nullopt;
  auto v = verify_certificate({list[0].data, list[0].size});
  if (!v) return std::nullopt;
  return std::move(v.value());
}

}  // namespace mp::tls

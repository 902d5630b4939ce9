// STAND-IN for h-tls's src/tls (same interface): the libp2p TLS 1.3
// certificate (libp2p/specs tls/tls.md) on GnuTLS, enough for QUIC. The
// integrator takes h-tls's version of this folder.
//
// Our certificate: a fresh ECDSA P-256 key, self-signed, carrying the
// libp2p Public Key Extension (OID 1.3.6.1.4.1.53594.1.1): DER
// SEQUENCE { publicKey OCTET STRING (protobuf host key), signature OCTET
// STRING (host key over "libp2p-tls-handshake:" || SubjectPublicKeyInfo) }.
#pragma once

#include <gnutls/gnutls.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"

namespace mp::tls {

inline constexpr std::string_view kAlpn = "libp2p";

struct Certificate {
  std::string cert_pem;
  std::string key_pem;
  std::vector<std::uint8_t> cert_der;
};
Result<Certificate> make_certificate(const Ed25519KeyPair& host_key);

struct VerifiedPeer {
  PublicKey key;
  PeerId peer;
};
// Checks the extension's signature, the validity period and the
// self-signature; returns the host key it proves.
Result<VerifiedPeer> verify_certificate(std::span<const std::uint8_t> cert_der);

// GnuTLS certificate credentials, built once from a Certificate; every
// session verifies its peer's certificate with verify_certificate.
class Credentials {
 public:
  static Result<std::shared_ptr<Credentials>> create(const Certificate& cert);
  ~Credentials();
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;
  gnutls_certificate_credentials_t native() const { return cred_; }

 private:
  Credentials() = default;
  gnutls_certificate_credentials_t cred_ = nullptr;
};

// TLS 1.3 only, ALPN "libp2p" mandatory, a certificate required from the
// client. `expected_peer` is checked by the caller after the handshake
// (peer_of): the session's user pointer belongs to the QUIC stack.
Status configure_session(gnutls_session_t s, const Credentials& creds, bool is_server,
                               std::optional<PeerId> expected_peer);
// The verified peer of a session whose handshake has completed.
std::optional<VerifiedPeer> peer_of(gnutls_session_t s);

}  // namespace mp::tls

// libp2p's TLS 1.3 handshake (libp2p/specs tls/tls.md), as QUIC uses it:
// our self-signed certificate carrying the libp2p Public Key Extension, the
// check of a peer's certificate, and the GnuTLS session setup that makes
// both sides require and verify each other's certificate.
//
// Use (one Credentials per process, shared by every session):
//
//   Certificate cert = make_certificate(identity).value();
//   Credentials creds = Credentials::create(cert).value();
//   // per connection, after gnutls_init(&s, GNUTLS_SERVER or GNUTLS_CLIENT)
//   // and ngtcp2_crypto_gnutls_configure_{server,client}_session(s):
//   configure_session(s, creds, is_server, expected_peer);
//   ... handshake ...
//   std::optional<VerifiedPeer> peer = peer_of(s);  // nullopt: close
//
// Order: configure_session may be called before or after ngtcp2's configure
// functions (ngtcp2 0.12 sets the secret/read/alert hooks, the session
// pointer and its transport parameters extension, none of which we touch);
// call it before the first gnutls_handshake / ngtcp2 read. It sets the
// session's priority (our TLS 1.3 only string, which keeps the QUIC cipher
// suites and disables the middlebox compatibility mode QUIC forbids), the
// credentials, ALPN, the certificate request and a verify function; it does
// not use gnutls_session_set_ptr (ngtcp2's) nor the transport pointer.
// Clients must not set a server name (the spec forbids SNI), so never call
// gnutls_server_name_set.
//
// Cost bounds on peer bytes: a certificate over kMaxCertificateBytes is
// refused before any parsing; RSA keys (in the certificate or as host key)
// are limited to kMaxRsaBits; each verification is at most two signature
// checks (the self-signature and the host key's), after the cheap checks.
#pragma once

#include <gnutls/gnutls.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"
#include "tls/error.hpp"

namespace mp::tls {

// ALPN of libp2p over TLS.
inline constexpr std::string_view kAlpn = "libp2p";
// A certificate of ours is about 450 bytes, one with an 8192-bit RSA host key
// about 2.5 KiB; anything over this is refused unparsed.
inline constexpr std::size_t kMaxCertificateBytes = 16 * 1024;

struct Certificate {
  std::string cert_pem;  // may hold a chain (tests); ours is one certificate
  std::string key_pem;   // the certificate's private key (PKCS#8), not the host key
  std::vector<std::uint8_t> cert_der;
};

// A fresh self-signed certificate (ECDSA P-256 key generated per call)
// carrying the libp2p public-key extension (OID 1.3.6.1.4.1.53594.1.1,
// non-critical: SignedKey{host key protobuf, host key's signature over
// "libp2p-tls-handshake:" + the certificate's SubjectPublicKeyInfo DER}),
// valid from now - 1 h for 100 years. Call once per process.
Result<Certificate> make_certificate(const Ed25519KeyPair& host_key);

// Everything make_certificate decides, open to tests and tools that need a
// wrong certificate (another host key type, a bad signature, no extension,
// expired). Times are relative to now.
struct CertificateSpec {
  Bytes host_public_key;                         // protobuf PublicKey
  std::function<Bytes(BytesView message)> sign;  // the host key's signature
  std::chrono::seconds not_before{-3600};
  std::chrono::seconds not_after{std::chrono::hours(24 * 365 * 100)};
  bool with_extension = true;
  bool extension_critical = false;
  struct Extension {
    std::string oid;  // dotted, e.g. "2.5.29.19"
    Bytes value;      // DER, as the extnValue carries it
    bool critical = false;
  };
  std::vector<Extension> extra_extensions;  // any other extensions
  Bytes subject_unique_id;                  // the deprecated field, written if not empty
};
Result<Certificate> make_certificate(const CertificateSpec& spec);

struct VerifiedPeer {
  PublicKey key;
  PeerId peer;
};

// The outcome of a verification: the peer, or the code that says what was
// wrong and a detail for the log.
class [[nodiscard]] VerifyResult {
 public:
  VerifyResult(VerifiedPeer peer) : v_(std::move(peer)) {}  // NOLINT: implicit by design
  VerifyResult(Errc code, std::string detail) : v_(Failure{code, std::move(detail)}) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  VerifiedPeer& value() & { return std::get<0>(v_); }
  const VerifiedPeer& value() const& { return std::get<0>(v_); }
  VerifiedPeer&& value() && { return std::get<0>(std::move(v_)); }
  const VerifiedPeer* operator->() const { return &value(); }
  const VerifiedPeer& operator*() const& { return value(); }
  // Errc of the failure (empty when ok()).
  std::error_code code() const { return ok() ? std::error_code{} : std::get<1>(v_).code; }
  // The code's message and the detail.
  std::string message() const;

 private:
  struct Failure {
    std::error_code code;
    std::string detail;
  };
  std::variant<VerifiedPeer, Failure> v_;
};

// Verifies one peer certificate (DER) as the spec says: within validity, the
// self-signature valid, the libp2p extension present once (critical or not),
// no other critical extension we do not understand, no unique ids, the
// SignedKey signature valid for the host key in it (Ed25519, secp256k1,
// ECDSA, RSA). Never throws on bad input.
VerifyResult verify_certificate(std::span<const std::uint8_t> cert_der);

// Our certificate and key loaded into GnuTLS, and the parsed priority string;
// created once and shared by all sessions (cheap to copy, thread-safe to use).
class Credentials {
 public:
  static Result<Credentials> create(const Certificate& cert);

  gnutls_certificate_credentials_t native() const;
  gnutls_priority_t priority() const;

 private:
  struct Handles;
  explicit Credentials(std::shared_ptr<Handles> h) : h_(std::move(h)) {}
  std::shared_ptr<Handles> h_;
};

// The GnuTLS priority string: TLS 1.3 only, the QUIC-usable AEADs, no
// middlebox compatibility mode, no session tickets (libp2p never resumes).
// Key exchange on X25519 first (NORMAL's order starts with secp256r1, whose
// arithmetic in nettle cost more than the rest of a QUIC handshake), then
// the NIST curves; no finite-field groups, which would let a client choose
// a multi-millisecond exponentiation for us.
inline constexpr const char* kPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
    "+GROUP-SECP384R1:+GROUP-SECP521R1:%DISABLE_TLS13_COMPAT_MODE:%NO_TICKETS";

// Configures a GnuTLS session for libp2p (see the top of this file for the
// order with ngtcp2): TLS 1.3 only, ALPN "libp2p" (mandatory: a server
// refuses a client without it), our certificate, the peer's certificate
// required on both sides, and a verify function that runs verify_certificate
// on the peer's chain and fails the handshake if it is refused, or if
// `expected_peer` is set (a client dialling a /p2p/ multiaddr) and the
// certificate proves another Peer ID. Call once per session; `creds` must
// outlive the session.
Status configure_session(gnutls_session_t s, const Credentials& creds, bool is_server,
                         std::optional<PeerId> expected_peer);

// The peer that the verify function accepted; nullopt before that, after a
// refusal, or for a session configure_session did not set up. A completed
// handshake without it must be closed.
std::optional<VerifiedPeer> peer_of(gnutls_session_t s);

// Why the verify function refused the peer (an Errc; certificate_count when
// the chain is not one certificate); empty if it did not refuse (the
// handshake may still have failed for another reason, e.g. no certificate
// at all or no common ALPN: GnuTLS's own error then says why).
std::error_code verify_error_of(gnutls_session_t s);

}  // namespace mp::tls

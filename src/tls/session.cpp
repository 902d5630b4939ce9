// Credentials, configure_session, peer_of: the GnuTLS side of
// libp2p/specs tls/tls.md. The per-session state (the Peer ID expected, the
// verified peer, why it was refused) lives in a GnuTLS extension data slot:
// gnutls_session_set_ptr belongs to ngtcp2, and an extension slot is freed
// by gnutls_deinit itself, so nothing leaks whoever ends the session.
#include <memory>
#include <new>

#include "tls/certificate.hpp"
#include "tls/gnutls_ptr.hpp"

namespace mp::tls {

using namespace detail;

namespace {

// A private extension number used only as a data slot: registered as valid
// for DTLS alone, GnuTLS neither sends it nor parses it on a TLS (or QUIC)
// session. 0xfa17 is unassigned by IANA and unused by GnuTLS and ngtcp2.
constexpr int kStateSlot = 0xfa17;

struct SessionState {
  std::optional<PeerId> expected;
  std::optional<VerifiedPeer> peer;
  std::error_code refused;
};

void delete_state(gnutls_ext_priv_data_t p) {
  delete static_cast<SessionState*>(p);
}

SessionState* state_of(gnutls_session_t s) {
  gnutls_ext_priv_data_t p = nullptr;
  if (gnutls_ext_get_data(s, kStateSlot, &p) < 0) return nullptr;
  return static_cast<SessionState*>(p);
}

// gnutls_certificate_verify_function: 0 accepts, anything else fails the
// handshake (GnuTLS sends the bad_certificate alert).
int verify_peer(gnutls_session_t s) noexcept {
  SessionState* st = state_of(s);
  if (st == nullptr) return -1;
  try {
    unsigned count = 0;
    const gnutls_datum_t* chain = gnutls_certificate_get_peers(s, &count);
    if (chain == nullptr || count != 1) {
      st->refused = Errc::certificate_count;
      return -1;
    }
    VerifyResult r = verify_certificate(std::span(chain[0].data, chain[0].size));
    if (!r) {
      st->refused = r.code();
      return -1;
    }
    if (st->expected && r->peer != *st->expected) {
      st->refused = Errc::peer_id_mismatch;
      return -1;
    }
    st->peer = std::move(r).value();
    return 0;
  } catch (const std::bad_alloc&) {
    st->refused = Errc::setup_failed;
    return -1;
  }
}

}  // namespace

struct Credentials::Handles {
  gnutls_certificate_credentials_t cred = nullptr;
  gnutls_priority_t priority = nullptr;
  ~Handles() {
    if (cred != nullptr) gnutls_certificate_free_credentials(cred);
    if (priority != nullptr) gnutls_priority_deinit(priority);
  }
};

Result<Credentials> Credentials::create(const Certificate& cert) {
  auto h = std::make_shared<Handles>();
  const char* where = nullptr;
  if (int rc = gnutls_priority_init(&h->priority, kPriority, &where); rc < 0) {
    return make_error(std::string("tls priority string at \"") + (where ? where : "") +
                      "\": " + gnutls_strerror(rc));
  }
  if (int rc = gnutls_certificate_allocate_credentials(&h->cred); rc < 0) {
    return make_error(std::string("tls credentials: ") + gnutls_strerror(rc));
  }
  const gnutls_datum_t crt = datum(cert.cert_pem.data(), cert.cert_pem.size());
  const gnutls_datum_t key = datum(cert.key_pem.data(), cert.key_pem.size());
  if (int rc = gnutls_certificate_set_x509_key_mem2(h->cred, &crt, &key, GNUTLS_X509_FMT_PEM,
                                                    nullptr, 0);
      rc < 0) {
    return make_error(std::string("tls certificate and key: ") + gnutls_strerror(rc));
  }
  return Credentials(std::move(h));
}

gnutls_certificate_credentials_t Credentials::native() const {
  return h_->cred;
}
gnutls_priority_t Credentials::priority() const {
  return h_->priority;
}

Status configure_session(gnutls_session_t s, const Credentials& creds, bool is_server,
                         std::optional<PeerId> expected_peer) {
  auto fail = [](const char* what, int rc) {
    return Status(make_error(std::string("tls session: ") + what + ": " + gnutls_strerror(rc)));
  };
  if (int rc = gnutls_priority_set(s, creds.priority()); rc < 0) return fail("priority", rc);
  if (int rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds.native()); rc < 0) {
    return fail("credentials", rc);
  }
  // libp2p/specs tls/tls.md: "servers MUST require client authentication".
  if (is_server) gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
  const gnutls_datum_t alpn = datum(kAlpn.data(), kAlpn.size());
  if (int rc = gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY); rc < 0) {
    return fail("alpn", rc);
  }
  if (int rc = gnutls_session_ext_register(s, "mepassa-libp2p-peer", kStateSlot, GNUTLS_EXT_TLS,
                                           nullptr, nullptr, delete_state, nullptr, nullptr,
                                           GNUTLS_EXT_FLAG_CLIENT_HELLO | GNUTLS_EXT_FLAG_DTLS);
      rc < 0) {
    return fail("state slot (configured twice?)", rc);
  }
  auto state = std::make_unique<SessionState>(SessionState{std::move(expected_peer), {}, {}});
  gnutls_ext_set_data(s, kStateSlot, state.get());
  if (state_of(s) != state.get()) return fail("state slot", GNUTLS_E_INTERNAL_ERROR);
  state.release();  // owned by the session now: delete_state at gnutls_deinit
  gnutls_session_set_verify_function(s, verify_peer);
  return {};
}

std::optional<VerifiedPeer> peer_of(gnutls_session_t s) {
  const SessionState* st = state_of(s);
  if (st == nullptr) return std::nullopt;
  return st->peer;
}

std::error_code verify_error_of(gnutls_session_t s) {
  const SessionState* st = state_of(s);
  return st == nullptr ? std::error_code{} : st->refused;
}

}  // namespace mp::tls

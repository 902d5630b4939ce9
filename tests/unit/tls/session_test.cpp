// Full TLS 1.3 handshakes between two GnuTLS sessions over an in-memory
// transport (two byte queues), each set up by configure_session.
#include <gnutls/abstract.h>
#include <gtest/gtest.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "tls/certificate.hpp"

namespace mp::tls {
namespace {

// One side of the in-memory connection.
struct End {
  gnutls_session_t session = nullptr;
  std::deque<std::uint8_t> inbox;
  End* peer = nullptr;
  int rc = GNUTLS_E_AGAIN;  // last gnutls_handshake result

  bool finished() const { return rc == 0 || gnutls_error_is_fatal(rc); }
  ~End() {
    if (session != nullptr) gnutls_deinit(session);
  }
};

ssize_t push(gnutls_transport_ptr_t p, const void* data, std::size_t size) {
  End* e = static_cast<End*>(p);
  const auto* b = static_cast<const std::uint8_t*>(data);
  e->peer->inbox.insert(e->peer->inbox.end(), b, b + size);
  return static_cast<ssize_t>(size);
}

ssize_t pull(gnutls_transport_ptr_t p, void* data, std::size_t size) {
  End* e = static_cast<End*>(p);
  if (e->inbox.empty()) {
    gnutls_transport_set_errno(e->session, EAGAIN);
    return -1;
  }
  const std::size_t n = std::min(size, e->inbox.size());
  std::copy_n(e->inbox.begin(), n, static_cast<std::uint8_t*>(data));
  e->inbox.erase(e->inbox.begin(), e->inbox.begin() + static_cast<std::ptrdiff_t>(n));
  return static_cast<ssize_t>(n);
}

void open(End& e, unsigned flags) {
  ASSERT_EQ(gnutls_init(&e.session, flags | GNUTLS_NONBLOCK), 0);
  gnutls_transport_set_ptr(e.session, &e);
  gnutls_transport_set_push_function(e.session, push);
  gnutls_transport_set_pull_function(e.session, pull);
}

// Steps both handshakes until each has finished or neither can progress.
void run(End& client, End& server) {
  client.peer = &server;
  server.peer = &client;
  for (int round = 0; round < 50; ++round) {
    if (!client.finished()) client.rc = gnutls_handshake(client.session);
    if (!server.finished()) server.rc = gnutls_handshake(server.session);
    if (client.finished() && server.finished()) return;
    // Bounded: a side waiting for bytes that never come stops the loop.
    if (client.inbox.empty() && server.inbox.empty() && round > 5) return;
  }
}

struct Identity {
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  PeerId peer = PeerId::from_public_key(key.public_key());
  Credentials creds = Credentials::create(make_certificate(key).value()).value();
};

std::string alpn_of(gnutls_session_t s) {
  gnutls_datum_t p{};
  if (gnutls_alpn_get_selected_protocol(s, &p) < 0) return {};
  return std::string(reinterpret_cast<const char*>(p.data), p.size);
}

void offer_alpn(gnutls_session_t s, std::string_view protocol) {
  const gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(protocol.data())),
                            static_cast<unsigned>(protocol.size())};
  ASSERT_EQ(gnutls_alpn_set_protocols(s, &alpn, 1, 0), 0);
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    open(client, GNUTLS_CLIENT);
    open(server, GNUTLS_SERVER);
  }
  Identity alice, bob;  // alice dials, bob listens
  End client, server;
};

TEST_F(SessionTest, BothSidesLearnTheOthersPeerId) {
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, bob.peer));
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  ASSERT_EQ(client.rc, 0) << gnutls_strerror(client.rc);
  ASSERT_EQ(server.rc, 0) << gnutls_strerror(server.rc);

  EXPECT_EQ(gnutls_protocol_get_version(client.session), GNUTLS_TLS1_3);
  EXPECT_EQ(alpn_of(client.session), kAlpn);
  EXPECT_EQ(alpn_of(server.session), kAlpn);
  auto to_bob = peer_of(client.session);
  auto to_alice = peer_of(server.session);
  ASSERT_TRUE(to_bob.has_value());
  ASSERT_TRUE(to_alice.has_value());
  EXPECT_EQ(to_bob->peer, bob.peer);
  EXPECT_EQ(to_alice->peer, alice.peer);
  EXPECT_EQ(to_alice->key, alice.key.public_key());
  EXPECT_FALSE(verify_error_of(client.session));

  // The secure channel works both ways.
  const std::string hello = "hello bob";
  ASSERT_EQ(gnutls_record_send(client.session, hello.data(), hello.size()),
            static_cast<ssize_t>(hello.size()));
  char buf[64];
  ASSERT_EQ(gnutls_record_recv(server.session, buf, sizeof(buf)),
            static_cast<ssize_t>(hello.size()));
  EXPECT_EQ(std::string(buf, hello.size()), hello);
}

TEST_F(SessionTest, KeyExchangeIsX25519BetweenTwoOfOurs) {
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, bob.peer));
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  ASSERT_EQ(server.rc, 0) << gnutls_strerror(server.rc);
  EXPECT_EQ(gnutls_group_get(server.session), GNUTLS_GROUP_X25519);
  EXPECT_EQ(gnutls_group_get(client.session), GNUTLS_GROUP_X25519);
}

// A client that offers one group only gets it if it is one of ours: a NIST
// curve yes, a finite-field group (an exponentiation the client would make
// us pay for) no.
void offer_only(gnutls_session_t s, const char* group) {
  const std::string p = std::string("NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-") + group +
                        ":%DISABLE_TLS13_COMPAT_MODE";
  ASSERT_EQ(gnutls_priority_set_direct(s, p.c_str(), nullptr), 0) << p;
}

TEST_F(SessionTest, ClientWithSecp256r1OnlyIsServed) {
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, bob.peer));
  offer_only(client.session, "SECP256R1");
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  ASSERT_EQ(server.rc, 0) << gnutls_strerror(server.rc);
  EXPECT_EQ(gnutls_group_get(server.session), GNUTLS_GROUP_SECP256R1);
}

TEST_F(SessionTest, ClientWithFiniteFieldGroupOnlyIsRefused) {
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, bob.peer));
  offer_only(client.session, "FFDHE2048");
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  EXPECT_TRUE(gnutls_error_is_fatal(server.rc)) << gnutls_strerror(server.rc);
  EXPECT_NE(client.rc, 0);
}

TEST_F(SessionTest, ClientRefusesAnotherPeerIdThanDialled) {
  const Identity mallory;
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, mallory.peer));
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  EXPECT_LT(client.rc, 0);
  EXPECT_EQ(verify_error_of(client.session), Errc::peer_id_mismatch);
  EXPECT_FALSE(peer_of(client.session).has_value());
  EXPECT_NE(server.rc, 0);  // the client's alert ends the server's handshake
}

TEST_F(SessionTest, ServerRefusesAClientCertificateWithoutTheExtension) {
  CertificateSpec spec;
  spec.host_public_key = alice.key.public_key().to_protobuf();
  spec.sign = [this](BytesView m) { return alice.key.sign(m); };
  spec.with_extension = false;
  auto plain = Credentials::create(make_certificate(spec).value());
  ASSERT_TRUE(plain) << plain.message();
  ASSERT_TRUE(configure_session(client.session, *plain, false, bob.peer));
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  // TLS 1.3: the client is done before the server has checked it.
  EXPECT_TRUE(gnutls_error_is_fatal(server.rc)) << gnutls_strerror(server.rc);
  EXPECT_EQ(verify_error_of(server.session), Errc::missing_extension);
  EXPECT_FALSE(peer_of(server.session).has_value());
}

// A client that sends a chain of two certificates. GnuTLS's loaders keep
// only certificates that link up to the first, so the chain is handed over
// raw by a retrieve function.
struct RawChain {
  gnutls_pcert_st pcerts[2]{};
  gnutls_privkey_t key = nullptr;
  gnutls_certificate_credentials_t cred = nullptr;

  RawChain(const Certificate& first, const Certificate& second) {
    const Certificate* certs[2] = {&first, &second};
    for (int i = 0; i < 2; ++i) {
      const gnutls_datum_t der{const_cast<unsigned char*>(certs[i]->cert_der.data()),
                               static_cast<unsigned>(certs[i]->cert_der.size())};
      EXPECT_EQ(gnutls_pcert_import_x509_raw(&pcerts[i], &der, GNUTLS_X509_FMT_DER, 0), 0);
    }
    const gnutls_datum_t pem{
        reinterpret_cast<unsigned char*>(const_cast<char*>(first.key_pem.data())),
        static_cast<unsigned>(first.key_pem.size())};
    EXPECT_EQ(gnutls_privkey_init(&key), 0);
    EXPECT_EQ(gnutls_privkey_import_x509_raw(key, &pem, GNUTLS_X509_FMT_PEM, nullptr, 0), 0);
    EXPECT_EQ(gnutls_certificate_allocate_credentials(&cred), 0);
    gnutls_certificate_set_retrieve_function2(cred, retrieve);
    current = this;
  }
  ~RawChain() {
    gnutls_certificate_free_credentials(cred);
    gnutls_privkey_deinit(key);
    for (auto& p : pcerts) gnutls_pcert_deinit(&p);
    current = nullptr;
  }
  static int retrieve(gnutls_session_t, const gnutls_datum_t*, int, const gnutls_pk_algorithm_t*,
                      int, gnutls_pcert_st** pcert, unsigned* count, gnutls_privkey_t* pkey) {
    *pcert = current->pcerts;
    *count = 2;
    *pkey = current->key;
    return 0;
  }
  static inline RawChain* current = nullptr;
};

TEST_F(SessionTest, ServerRefusesAChainOfTwoCertificates) {
  RawChain chain(make_certificate(alice.key).value(), make_certificate(alice.key).value());
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, bob.peer));
  ASSERT_EQ(gnutls_credentials_set(client.session, GNUTLS_CRD_CERTIFICATE, chain.cred), 0);
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  EXPECT_TRUE(gnutls_error_is_fatal(server.rc)) << gnutls_strerror(server.rc);
  EXPECT_EQ(verify_error_of(server.session), Errc::certificate_count);
  EXPECT_FALSE(peer_of(server.session).has_value());
  gnutls_deinit(client.session);  // before the credentials it uses
  client.session = nullptr;
}

TEST_F(SessionTest, ServerRequiresAClientCertificate) {
  // A client with no certificate at all (not set up by configure_session).
  gnutls_certificate_credentials_t none = nullptr;
  ASSERT_EQ(gnutls_certificate_allocate_credentials(&none), 0);
  ASSERT_EQ(gnutls_priority_set(client.session, alice.creds.priority()), 0);
  ASSERT_EQ(gnutls_credentials_set(client.session, GNUTLS_CRD_CERTIFICATE, none), 0);
  offer_alpn(client.session, kAlpn);
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  EXPECT_TRUE(gnutls_error_is_fatal(server.rc)) << gnutls_strerror(server.rc);
  EXPECT_FALSE(peer_of(server.session).has_value());
  gnutls_deinit(client.session);  // before the credentials it uses
  client.session = nullptr;
  gnutls_certificate_free_credentials(none);
}

TEST_F(SessionTest, ServerRefusesAClientWithoutTheLibp2pAlpn) {
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, bob.peer));
  offer_alpn(client.session, "h3");  // replaces configure_session's "libp2p"
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  run(client, server);
  EXPECT_TRUE(gnutls_error_is_fatal(server.rc)) << gnutls_strerror(server.rc);
  EXPECT_LT(client.rc, 0);
  EXPECT_FALSE(peer_of(server.session).has_value());
}

TEST_F(SessionTest, ConfiguringTwiceFailsAndUnconfiguredSessionsHaveNoPeer) {
  EXPECT_FALSE(peer_of(client.session).has_value());
  EXPECT_FALSE(verify_error_of(client.session));
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, std::nullopt));
  EXPECT_FALSE(configure_session(client.session, alice.creds, false, std::nullopt));
}

// QUIC: ngtcp2's GnuTLS backend registers its own hooks and transport
// parameters extension on the session; ours must coexist in either order.
TEST_F(SessionTest, CoexistsWithNgtcp2sSessionSetupInEitherOrder) {
  ASSERT_EQ(ngtcp2_crypto_gnutls_configure_server_session(server.session), 0);
  ASSERT_TRUE(configure_session(server.session, bob.creds, true, std::nullopt));
  ASSERT_TRUE(configure_session(client.session, alice.creds, false, bob.peer));
  ASSERT_EQ(ngtcp2_crypto_gnutls_configure_client_session(client.session), 0);
  EXPECT_FALSE(peer_of(server.session).has_value());
  EXPECT_FALSE(verify_error_of(client.session));
}

}  // namespace
}  // namespace mp::tls

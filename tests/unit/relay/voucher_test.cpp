// Signed envelopes (RFC 0002) and reservation vouchers: exact signing input,
// round trip, and every way an envelope must fail to open.
#include <gtest/gtest.h>

#include "core/peer_id.hpp"
#include "envelope.pb.h"
#include "relay/signed_envelope.hpp"
#include "relay/voucher.hpp"

namespace mp::relay {
namespace {

Ed25519KeyPair key(const char* seed) { return Ed25519KeyPair::from_seed_string(seed); }
PeerId id_of(const Ed25519KeyPair& k) { return PeerId::from_public_key(k.public_key()); }

TEST(SignedEnvelope, SigningInputIsLengthPrefixedDomainTypeAndPayload) {
  const Bytes type{0x03, 0x02};
  const Bytes payload{0xaa, 0xbb, 0xcc};
  const Bytes in = envelope_signing_input("libp2p-relay-rsvp", type, payload);
  const std::string expected = std::string("\x11") + "libp2p-relay-rsvp" + "\x02\x03\x02" + "\x03\xaa\xbb\xcc";
  EXPECT_EQ(to_hex(in), to_hex(as_bytes(expected)));
}

TEST(SignedEnvelope, WireFieldsAreThoseImplementationsUse) {
  const auto k = key("envelope-fields");
  const Bytes env = seal_envelope(k, "d", Bytes{0x03, 0x02}, Bytes{1});
  pb::Envelope m;
  ASSERT_TRUE(m.ParseFromArray(env.data(), static_cast<int>(env.size())));
  EXPECT_EQ(Bytes(m.public_key().begin(), m.public_key().end()), k.public_key().to_protobuf());
  EXPECT_EQ(m.signature().size(), 64u);
  // The signature is field 5 (tag 0x2a) as in go/js/rust, not field 4.
  EXPECT_EQ(env[env.size() - 66], 0x2a);
}

TEST(SignedEnvelope, RoundTripAndRejections) {
  const auto k = key("envelope-roundtrip");
  const Bytes payload{9, 8, 7};
  const Bytes env = seal_envelope(k, "my-domain", Bytes{0x03, 0x01}, payload);
  auto opened = open_envelope(env, "my-domain");
  ASSERT_TRUE(opened) << opened.message();
  EXPECT_EQ(opened->payload, payload);
  EXPECT_EQ(opened->public_key, k.public_key());

  EXPECT_FALSE(open_envelope(env, "other-domain"));  // domain separation
  Bytes tampered = env;
  tampered[tampered.size() - 70] ^= 0x01;  // inside the payload / type area
  EXPECT_FALSE(open_envelope(tampered, "my-domain"));
  Bytes bad_sig = env;
  bad_sig.back() ^= 0x01;
  EXPECT_FALSE(open_envelope(bad_sig, "my-domain"));
  EXPECT_FALSE(open_envelope(Bytes{0x0a, 0x05, 1}, "my-domain"));  // truncated
}

TEST(Voucher, SignedByRelayOpens) {
  const auto relay = key("relay");
  const auto client = key("client");
  const Voucher v{id_of(relay), id_of(client), 1'800'000'000};
  const Bytes env = sign_voucher(relay, v);
  auto back = open_voucher(env);
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(back->relay, v.relay);
  EXPECT_EQ(back->peer, v.peer);
  EXPECT_EQ(back->expiration, v.expiration);
  // Payload type bytes 0x03 0x02 as go-libp2p and js-libp2p write them.
  auto e = open_envelope(env, kVoucherDomain);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->payload_type, (Bytes{0x03, 0x02}));
}

TEST(Voucher, PayloadIsCanonicalFieldOrder) {
  const auto relay = key("relay");
  const auto client = key("client");
  const Bytes p = encode_voucher_payload(Voucher{id_of(relay), id_of(client), 300});
  const Bytes r = id_of(relay).bytes();
  ASSERT_GT(p.size(), r.size() + 2);
  EXPECT_EQ(p[0], 0x0a);  // field 1 (relay) first
  EXPECT_EQ(p[1], r.size());
  EXPECT_EQ(p[2 + r.size()], 0x12);  // then field 2 (peer)
  // expiration 300 = varint ac 02 under tag 0x18, last.
  EXPECT_EQ(Bytes(p.end() - 3, p.end()), (Bytes{0x18, 0xac, 0x02}));
}

TEST(Voucher, SignedBySomeoneElseIsRejected) {
  const auto relay = key("relay");
  const auto mallory = key("mallory");
  const Voucher v{id_of(relay), id_of(mallory), 1};
  EXPECT_FALSE(open_voucher(sign_voucher(mallory, v)));  // names the relay, signed by another key
  // Right signer, wrong domain.
  EXPECT_FALSE(open_voucher(seal_envelope(relay, "libp2p-peer-record", kVoucherPayloadType, encode_voucher_payload(v))));
  // Right signer and domain, wrong payload type.
  EXPECT_FALSE(open_voucher(seal_envelope(relay, kVoucherDomain, Bytes{0x03, 0x01}, encode_voucher_payload(v))));
}

}  // namespace
}  // namespace mp::relay

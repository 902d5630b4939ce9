// Kademlia::handle: the answer to every request type, and what is refused.
#include <gtest/gtest.h>

#include "core/keys.hpp"
#include "ipns.pb.h"
#include "kad/ipns_record.hpp"
#include "kad/kademlia.hpp"
#include "test_util.hpp"

namespace mp::kad {
namespace {

using namespace std::chrono_literals;
using test::public_addr;
using test::random_peer;
using test::t0;

struct Node {
  std::mt19937_64 rng{42};
  PeerId self = random_peer(rng);
  PeerId remote = random_peer(rng);
  Kademlia kad;
  std::vector<PeerId> known;

  explicit Node(KadConfig c = {}) : kad(self, std::move(c), t0()) {
    kad.set_local_addresses({public_addr(7000)});
    // The requester is in our table too: it must never be handed back.
    EXPECT_EQ(kad.on_peer_identified(remote, {public_addr(9000)}, true, t0()).outcome,
              UpdateOutcome::kInserted);
    for (std::uint32_t i = 0; i < 200; ++i) {
      PeerId p = random_peer(rng);
      if (kad.on_peer_identified(p, {public_addr(i)}, true, t0()).outcome ==
          UpdateOutcome::kInserted) {
        known.push_back(p);
      }
    }
  }

  std::vector<PeerId> ids(const google::protobuf::RepeatedPtrField<pb::Message_Peer>& peers) {
    std::vector<PeerId> out;
    for (const auto& info : parse_peers(peers, kad.address_policy())) out.push_back(info.id);
    return out;
  }
};

// Found by the kad_handle fuzz target: Record.timeReceived as a proto3
// string made libprotobuf log an ERROR line to stderr for each message
// carrying invalid UTF-8 there (and refuse it).
TEST(KadHandler, InvalidUtf8InTimeReceivedIsNotLogged) {
  // Message{record: Record{timeReceived: "\xff\xfe"}}
  const Bytes wire = {0x1a, 0x04, 0x2a, 0x02, 0xff, 0xfe};
  testing::internal::CaptureStderr();
  auto m = decode_message(wire);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->record().timereceived(), "\xff\xfe");
}

TEST(KadHandler, FindNodeReturnsTheKClosestExceptTheRequester) {
  Node n;
  const PeerId target = random_peer(n.rng);
  auto resp = n.kad.handle(n.remote, make_find_node(target.bytes()), t0());
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->type(), pb::Message_MessageType_FIND_NODE);
  const auto got = n.ids(resp->closerpeers());
  const auto want = n.kad.routing_table().closest_peers(Key::from_peer(target), kK, &n.remote);
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.size(), kK);
  // Each peer comes with its address.
  auto infos = parse_peers(resp->closerpeers(), n.kad.address_policy());
  for (const auto& info : infos) {
    ASSERT_EQ(info.addrs.size(), 1u);
    EXPECT_EQ(info.addrs, n.kad.routing_table().find(info.id)->addrs);
  }
  // Asking for the requester's own ID: still never itself.
  auto self_q = n.kad.handle(n.remote, make_find_node(n.remote.bytes()), t0());
  for (const auto& id : n.ids(self_q->closerpeers())) EXPECT_NE(id, n.remote);
  EXPECT_EQ(n.kad.counters().requested(pb::Message_MessageType_FIND_NODE), 2u);
}

TEST(KadHandler, FindNodeForUsAnswersWithOurselves) {
  Node n;
  auto resp = n.kad.handle(n.remote, make_find_node(n.self.bytes()), t0());
  auto infos = parse_peers(resp->closerpeers(), n.kad.address_policy());
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].id, n.self);
  EXPECT_EQ(infos[0].addrs, std::vector<Multiaddr>{public_addr(7000)});
}

TEST(KadHandler, FindNodeHandsOutRelayAddresses) {
  Node n;
  const PeerId relay = random_peer(n.rng);
  const PeerId behind_nat = random_peer(n.rng);
  const Multiaddr circuit =
      test::addr("/ip4/20.9.9.9/tcp/4001/p2p/" + relay.to_base58() + "/p2p-circuit");
  ASSERT_EQ(n.kad.on_peer_identified(behind_nat, {circuit}, true, t0()).outcome,
            UpdateOutcome::kInserted);
  auto resp = n.kad.handle(n.remote, make_find_node(behind_nat.bytes()), t0());
  auto infos = parse_peers(resp->closerpeers(), n.kad.address_policy());
  ASSERT_FALSE(infos.empty());
  EXPECT_EQ(infos[0].id, behind_nat);
  EXPECT_EQ(infos[0].addrs, std::vector<Multiaddr>{circuit});
}

TEST(KadHandler, PutThenGetValue) {
  Node n;
  const Bytes key = to_bytes("/mepassa/inbox/alice");
  auto put = make_put_value(key, to_bytes("hello"));
  auto echo = n.kad.handle(n.remote, put, t0());
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->type(), pb::Message_MessageType_PUT_VALUE);
  EXPECT_EQ(echo->record().value(), "hello");
  EXPECT_EQ(echo->key(), as_string(key));

  auto got = n.kad.handle(n.remote, make_get_value(key), t0() + 1h);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->type(), pb::Message_MessageType_GET_VALUE);
  ASSERT_TRUE(got->has_record());
  EXPECT_EQ(got->record().key(), as_string(key));
  EXPECT_EQ(got->record().value(), "hello");
  EXPECT_EQ(got->closerpeers_size(), static_cast<int>(kK));

  // After 36 h: no record, closer peers only.
  auto gone = n.kad.handle(n.remote, make_get_value(key), t0() + 36h);
  EXPECT_FALSE(gone->has_record());
  EXPECT_EQ(gone->closerpeers_size(), static_cast<int>(kK));
}

TEST(KadHandler, PutValueRefusals) {
  Node n;
  auto expect_refused = [&](const Message& m, Refusal why) {
    Message resp;
    auto r = n.kad.handle(n.remote, m, t0(), resp);
    EXPECT_EQ(r.disposition, Disposition::kCloseStream);
    EXPECT_EQ(r.refusal, why);
    EXPECT_EQ(n.kad.counters().refused(why), 1u) << to_string(why);
  };
  // Key differs from the record's key.
  auto mismatch = make_put_value(to_bytes("/a"), to_bytes("v"));
  mismatch.set_key("/b");
  expect_refused(mismatch, Refusal::kKeyMismatch);
  // No record at all.
  Message bare;
  bare.set_type(pb::Message_MessageType_PUT_VALUE);
  bare.set_key("/a");
  expect_refused(bare, Refusal::kMissingRecord);
  // Oversized value (limit 16 KiB by default).
  expect_refused(make_put_value(to_bytes("/a"), Bytes(16 * 1024 + 1, 'x')),
                 Refusal::kRecordTooLarge);
  EXPECT_EQ(n.kad.records().size(), 0u);
}

TEST(KadHandler, PublicKeyRecordsMustMatchTheirPeerId) {
  Node n;
  const auto kp = Ed25519KeyPair::generate();
  const auto other = Ed25519KeyPair::generate();
  const PeerId id = PeerId::from_public_key(kp.public_key());
  Bytes key = to_bytes("/pk/");
  append(key, id.bytes());
  const Bytes good = kp.public_key().to_protobuf();
  const Bytes bad = other.public_key().to_protobuf();

  Message resp;
  auto r = n.kad.handle(n.remote, make_put_value(key, bad), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kInvalidRecord);
  r = n.kad.handle(n.remote, make_put_value(key, to_bytes("not a key")), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kInvalidRecord);
  r = n.kad.handle(n.remote, make_put_value(key, good), t0(), resp);
  EXPECT_EQ(r.disposition, Disposition::kRespond);
  EXPECT_FALSE(r.refusal.has_value());
  ASSERT_NE(n.kad.records().get(key, t0()), nullptr);
}

TEST(KadHandler, UnknownNamespacesCanBeRefused) {
  KadConfig c;
  c.validation.accept_other_namespaces = false;
  Node n(c);
  Message resp;
  auto r = n.kad.handle(n.remote, make_put_value(to_bytes("/other/x"), to_bytes("v")), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kInvalidRecord);
}

// --- IPNS: a real signed record (V2 signature over DAG-CBOR data) ---

void cbor_head(Bytes& out, std::uint8_t major, std::uint64_t n) {
  const auto m = static_cast<std::uint8_t>(major << 5);
  if (n < 24) {
    out.push_back(static_cast<std::uint8_t>(m | n));
  } else if (n < 256) {
    out.push_back(m | 24);
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    out.push_back(m | 27);
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  }
}
void cbor_text(Bytes& out, std::string_view s) {
  cbor_head(out, 3, s.size());
  append(out, as_bytes(s));
}
void cbor_bytes(Bytes& out, std::string_view s) {
  cbor_head(out, 2, s.size());
  append(out, as_bytes(s));
}

Bytes ipns_record(const Ed25519KeyPair& kp, std::uint64_t seq, std::string_view value) {
  Bytes data;
  cbor_head(data, 5, 5);  // DAG-CBOR map, keys sorted by length then bytes
  cbor_text(data, "TTL");
  cbor_head(data, 0, 3600000000000ull);
  cbor_text(data, "Value");
  cbor_bytes(data, value);
  cbor_text(data, "Sequence");
  cbor_head(data, 0, seq);
  cbor_text(data, "Validity");
  cbor_bytes(data, "2099-01-01T00:00:00.000000000Z");
  cbor_text(data, "ValidityType");
  cbor_head(data, 0, 0);
  Bytes to_sign = to_bytes("ipns-signature:");
  append(to_sign, data);
  const Bytes sig = kp.sign(to_sign);
  pb::IpnsEntry e;
  e.set_value(std::string(value));
  e.set_sequence(seq);
  e.set_signaturev2(std::string(as_string(sig)));
  e.set_data(std::string(as_string(data)));
  std::string out;
  e.SerializeToString(&out);
  return to_bytes(out);
}

TEST(KadHandler, IpnsRecordsAreVerifiedAndOnlyNewerOnesReplace) {
  Node n;
  const auto kp = Ed25519KeyPair::generate();
  const PeerId name = PeerId::from_public_key(kp.public_key());
  Bytes key = to_bytes("/ipns/");
  append(key, name.bytes());
  Message resp;

  const Bytes v5 = ipns_record(kp, 5, "/ipfs/bafy5");
  auto r = n.kad.handle(n.remote, make_put_value(key, v5), t0(), resp);
  ASSERT_EQ(r.disposition, Disposition::kRespond) << (r.refusal ? to_string(*r.refusal) : "");
  // Older sequence: refused; newer: replaces.
  r = n.kad.handle(n.remote, make_put_value(key, ipns_record(kp, 4, "/ipfs/bafy4")), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kOlderRecord);
  r = n.kad.handle(n.remote, make_put_value(key, ipns_record(kp, 6, "/ipfs/bafy6")), t0(), resp);
  EXPECT_EQ(r.disposition, Disposition::kRespond);
  EXPECT_EQ(parse_ipns_sequence(n.kad.records().get(key, t0())->value), 6u);

  // Signed by someone else: refused.
  const auto mallory = Ed25519KeyPair::generate();
  r = n.kad.handle(n.remote, make_put_value(key, ipns_record(mallory, 9, "/ipfs/evil")), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kInvalidRecord);
  // Tampered data: refused.
  Bytes tampered = ipns_record(kp, 7, "/ipfs/bafy7");
  pb::IpnsEntry e;
  ASSERT_TRUE(e.ParseFromArray(tampered.data(), static_cast<int>(tampered.size())));
  std::string d = e.data();
  d.back() ^= 1;
  e.set_data(d);
  std::string s;
  e.SerializeToString(&s);
  r = n.kad.handle(n.remote, make_put_value(key, to_bytes(s)), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kInvalidRecord);
}

TEST(KadHandler, AddProviderOnlyForTheSenderThenGetProviders) {
  Node n;
  const Bytes cid_mh = {0x12, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  // Someone announces a third party as provider: refused, nothing stored.
  const PeerId victim = random_peer(n.rng);
  Message resp;
  auto r = n.kad.handle(n.remote, make_add_provider(cid_mh, PeerInfo{victim, {public_addr(1)}}),
                        t0(), resp);
  EXPECT_EQ(r.disposition, Disposition::kNoResponse);
  EXPECT_EQ(r.refusal, Refusal::kProviderNotSender);
  EXPECT_EQ(n.kad.counters().refused(Refusal::kProviderNotSender), 1u);
  EXPECT_EQ(n.kad.providers().total(), 0u);

  // The sender announces itself: stored, with its public addresses only.
  r = n.kad.handle(n.remote,
                   make_add_provider(cid_mh, PeerInfo{n.remote,
                                                      {public_addr(5), test::addr("/ip4/10.0.0.1/tcp/1")}}),
                   t0(), resp);
  EXPECT_EQ(r.disposition, Disposition::kNoResponse);
  EXPECT_FALSE(r.refusal.has_value());
  EXPECT_EQ(n.kad.providers().total(), 1u);

  const PeerId asker = random_peer(n.rng);
  auto got = n.kad.handle(asker, make_get_providers(cid_mh), t0() + 1h);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->type(), pb::Message_MessageType_GET_PROVIDERS);
  auto providers = parse_peers(got->providerpeers(), n.kad.address_policy());
  ASSERT_EQ(providers.size(), 1u);
  EXPECT_EQ(providers[0].id, n.remote);
  EXPECT_EQ(providers[0].addrs, std::vector<Multiaddr>{public_addr(5)});
  EXPECT_EQ(got->closerpeers_size(), static_cast<int>(kK));

  // After 48 h the provider is gone.
  auto later = n.kad.handle(asker, make_get_providers(cid_mh), t0() + 48h);
  EXPECT_EQ(later->providerpeers_size(), 0);
}

TEST(KadHandler, ProviderKeysMustBeMultihashes) {
  Node n;
  Message resp;
  auto r = n.kad.handle(n.remote, make_get_providers(to_bytes("not a multihash")), t0(), resp);
  EXPECT_EQ(r.disposition, Disposition::kCloseStream);
  EXPECT_EQ(r.refusal, Refusal::kInvalidProviderKey);
  r = n.kad.handle(n.remote, make_add_provider(Bytes(100, 0x12), PeerInfo{n.remote, {}}), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kInvalidProviderKey);
}

TEST(KadHandler, PingIsAnsweredAndUnknownTypesRefused) {
  Node n;
  auto pong = n.kad.handle(n.remote, make_ping(), t0());
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->type(), pb::Message_MessageType_PING);

  Message weird;
  weird.set_type(static_cast<MessageType>(17));
  Message resp;
  auto r = n.kad.handle(n.remote, weird, t0(), resp);
  EXPECT_EQ(r.disposition, Disposition::kCloseStream);
  EXPECT_EQ(r.refusal, Refusal::kUnknownType);

  // Requests without a key are refused.
  r = n.kad.handle(n.remote, make_find_node({}), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kMissingKey);
  r = n.kad.handle(n.remote, make_get_value({}), t0(), resp);
  EXPECT_EQ(r.refusal, Refusal::kMissingKey);
}

TEST(KadCodec, RoundTripsAndRejectsGarbage) {
  std::mt19937_64 rng(5);
  const PeerId p = random_peer(rng);
  auto m = make_add_provider(Bytes{0x12, 0x01, 0xff}, PeerInfo{p, {public_addr(3)}});
  const Bytes wire = encode_message(m);
  auto back = decode_message(wire);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type(), pb::Message_MessageType_ADD_PROVIDER);
  auto peers = parse_peers(back->providerpeers(), {});
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].id, p);
  EXPECT_EQ(peers[0].addrs, std::vector<Multiaddr>{public_addr(3)});

  EXPECT_FALSE(decode_message(Bytes{0xff, 0xff, 0xff}).ok());
  // Invalid peer ids and addresses in a response are skipped, not fatal.
  Message resp;
  resp.add_closerpeers()->set_id("garbage");
  auto* ok = resp.add_closerpeers();
  ok->set_id(std::string(as_string(p.bytes())));
  ok->add_addrs("\xff\xff");
  std::size_t skipped = 0;
  auto parsed = parse_peers(resp.closerpeers(), {}, &skipped);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_TRUE(parsed[0].addrs.empty());
  EXPECT_EQ(skipped, 2u);
}

}  // namespace
}  // namespace mp::kad

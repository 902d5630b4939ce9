// Identify codec and stream glue: what a remote sends is decoded, kept
// within bounds, and a public key that is not the remote's is refused (a
// forged identity must never reach the peer store).
#include "identify/identify.hpp"

#include <gtest/gtest.h>

#include "core/varint.hpp"
#include "identify.pb.h"
#include "support/run_coro.hpp"
#include "support/scripted_stream.hpp"

namespace mp::identify {
namespace {

struct Keyed {
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  PeerId peer = PeerId::from_public_key(key.public_key());
};

Info sample(const Keyed& k) {
  Info info;
  info.protocol_version = "/mepassa/1.0.0";
  info.agent_version = "test/1";
  info.public_key = k.key.public_key();
  info.listen_addrs = {Multiaddr::ip_tcp("192.0.2.1", 4001), Multiaddr::ip_tcp("2001:db8::1", 4001)};
  info.observed_addr = Multiaddr::ip_tcp("198.51.100.7", 52000);
  info.protocols = {"/ipfs/id/1.0.0", "/ipfs/kad/1.0.0"};
  return info;
}

Bytes length_prefixed(const Bytes& body) {
  Bytes out;
  varint::encode(body.size(), out);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(Identify, RoundTripKeepsEveryField) {
  const Keyed a;
  const Info sent = sample(a);
  auto got = decode(encode(sent), a.peer);
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_EQ(got->protocol_version, sent.protocol_version);
  EXPECT_EQ(got->agent_version, sent.agent_version);
  ASSERT_TRUE(got->public_key.has_value());
  EXPECT_TRUE(a.peer.matches(*got->public_key));
  EXPECT_EQ(got->listen_addrs, sent.listen_addrs);
  EXPECT_EQ(got->observed_addr, sent.observed_addr);
  EXPECT_EQ(got->protocols, sent.protocols);
  EXPECT_EQ(got->invalid_addrs, 0u);
  EXPECT_EQ(got->dropped, 0u);
}

TEST(Identify, RefusesAPublicKeyThatIsNotTheRemotes) {
  const Keyed a, mallory;
  // mallory's connection carries a's key: a forged identity.
  auto got = decode(encode(sample(a)), mallory.peer);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.message().find("does not match peer id"), std::string::npos) << got.message();
}

TEST(Identify, RefusesAKeyThatDoesNotParse) {
  const Keyed a;
  pb::Identify msg;
  msg.set_publickey(std::string("\x08\x01\x12\x03xyz", 7));  // Ed25519, 3-byte key
  const std::string wire = msg.SerializeAsString();
  auto got = decode(as_bytes(wire), a.peer);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.message().find("bad public key"), std::string::npos) << got.message();
}

TEST(Identify, RefusesWhatIsNotAnIdentifyMessage) {
  const Keyed a;
  EXPECT_FALSE(decode(Bytes(16, 0xff), a.peer).ok());
}

TEST(Identify, SkipsUndecodableAddressesAndCountsThem) {
  const Keyed a;
  pb::Identify msg;
  const Bytes good = Multiaddr::ip_tcp("192.0.2.1", 4001).bytes();
  msg.add_listenaddrs(good.data(), good.size());
  msg.add_listenaddrs("\xff\xff\xff", 3);
  const std::string wire = msg.SerializeAsString();
  auto got = decode(as_bytes(wire), a.peer);
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_EQ(got->listen_addrs.size(), 1u);
  EXPECT_EQ(got->invalid_addrs, 1u);
  EXPECT_FALSE(got->public_key.has_value());  // no key: nothing to check against
}

TEST(IdentifyStream, ServeWritesOneMessageAndCloses) {
  const Keyed a;
  test::ScriptedStream s(Bytes{});
  test::run_coro(serve(s, sample(a)));
  EXPECT_EQ(s.output, length_prefixed(encode(sample(a))));
  EXPECT_TRUE(s.closed_write);
}

TEST(IdentifyStream, ReceiveDecodesTheRemotesMessage) {
  const Keyed a;
  test::ScriptedStream s(length_prefixed(encode(sample(a))), 5);  // in pieces
  const Info got = test::run_coro(receive(s, a.peer));
  EXPECT_EQ(got.agent_version, "test/1");
  EXPECT_EQ(got.listen_addrs.size(), 2u);
}

TEST(IdentifyStream, ReceiveRefusesAForgedIdentity) {
  const Keyed a, mallory;
  test::ScriptedStream s(length_prefixed(encode(sample(a))));
  EXPECT_THROW(test::run_coro(receive(s, mallory.peer)), net::ProtocolError);
}

TEST(IdentifyStream, ReceiveFailsWhenTheStreamEndsFirst) {
  const Keyed a;
  test::ScriptedStream s(Bytes{});
  EXPECT_THROW(test::run_coro(receive(s, a.peer)), net::ProtocolError);
}

TEST(IdentifyStream, ReceiveRefusesAnOversizedMessage) {
  const Keyed a;
  Bytes prefix;
  varint::encode(kMaxMessageSize + 1, prefix);
  test::ScriptedStream s(prefix);
  EXPECT_THROW(test::run_coro(receive(s, a.peer)), net::ProtocolError);
}

}  // namespace
}  // namespace mp::identify

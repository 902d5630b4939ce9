// Identify codec and stream glue: what a remote sends is decoded as sent,
// a public key that is not the remote's Peer ID (a forged identity) is
// refused, a signed peer record never supplies addresses (we do not read
// it), and the stream handlers round-trip over an in-memory pipe.
#include "identify/identify.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>

#include "identify.pb.h"
#include "net/buffered_reader.hpp"
#include "net/memory_pipe.hpp"
#include "support/run_coro.hpp"

namespace mp::identify {
namespace {

struct Identity {
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  PeerId peer = PeerId::from_public_key(key.public_key());
};

Info sample(const Identity& id) {
  Info i;
  i.protocol_version = "/mepassa/1.0.0";
  i.agent_version = "rust-libp2p/0.53.2";
  i.public_key = id.key.public_key();
  i.listen_addrs = {Multiaddr::ip_tcp("192.0.2.7", 4001), Multiaddr::ip_tcp("2001:db8::7", 4001)};
  i.observed_addr = Multiaddr::ip_tcp("198.51.100.1", 50000);
  i.protocols = {"/ipfs/id/1.0.0", "/ipfs/kad/1.0.0"};
  return i;
}

Bytes serialize(const pb::Identify& msg) {
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

TEST(Identify, RoundTripKeepsEveryField) {
  Identity id;
  const Info sent = sample(id);
  auto got = decode(encode(sent), id.peer);
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_EQ(got->protocol_version, sent.protocol_version);
  EXPECT_EQ(got->agent_version, sent.agent_version);
  ASSERT_TRUE(got->public_key);
  EXPECT_TRUE(id.peer.matches(*got->public_key));
  EXPECT_EQ(got->listen_addrs, sent.listen_addrs);
  EXPECT_EQ(got->observed_addr, sent.observed_addr);
  EXPECT_EQ(got->protocols, sent.protocols);
  EXPECT_EQ(got->invalid_addrs, 0u);
  EXPECT_EQ(got->dropped, 0u);
}

TEST(Identify, APublicKeyThatIsNotTheRemotesPeerIdIsRefused) {
  Identity remote, forger;
  // The forger's key, sent on a connection authenticated as `remote`.
  auto got = decode(encode(sample(forger)), remote.peer);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.message().find("does not match peer id " + remote.peer.to_base58()), std::string::npos)
      << got.message();
  // The same message is fine from its own peer.
  EXPECT_TRUE(decode(encode(sample(forger)), forger.peer).ok());
}

TEST(Identify, AnUndecodablePublicKeyIsRefused) {
  Identity id;
  pb::Identify msg;
  msg.set_publickey(std::string("\x08\x01\x12\x03xyz", 7));  // Ed25519 with a 3-byte key
  auto got = decode(serialize(msg), id.peer);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.message().find("bad public key"), std::string::npos) << got.message();
}

TEST(Identify, GarbageIsRefused) {
  Identity id;
  const Bytes garbage{0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_FALSE(decode(garbage, id.peer).ok());
}

TEST(Identify, ASignedPeerRecordNeverSuppliesAddresses) {
  // A record signed by another key, naming an address the message does not
  // list: we do not read signed records, so neither its key nor its
  // addresses reach the Info; the listenAddrs field is what we keep.
  Identity remote, other;
  pb::Identify msg;
  const Bytes key = remote.key.public_key().to_protobuf();
  msg.set_publickey(key.data(), key.size());
  const auto listed = Multiaddr::ip_tcp("192.0.2.1", 4001);
  msg.add_listenaddrs(listed.bytes().data(), listed.bytes().size());
  const Bytes other_key = other.key.public_key().to_protobuf();
  const auto smuggled = Multiaddr::ip_tcp("203.0.113.66", 4001);
  std::string envelope;
  envelope += '\x0a';  // Envelope.public_key
  envelope += static_cast<char>(other_key.size());
  envelope.append(other_key.begin(), other_key.end());
  envelope += '\x1a';  // Envelope.payload (stands in for a PeerRecord)
  envelope += static_cast<char>(smuggled.bytes().size());
  envelope.append(smuggled.bytes().begin(), smuggled.bytes().end());
  msg.set_signedpeerrecord(envelope);
  auto got = decode(serialize(msg), remote.peer);
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_EQ(got->listen_addrs, std::vector<Multiaddr>{listed});
  ASSERT_TRUE(got->public_key);
  EXPECT_TRUE(remote.peer.matches(*got->public_key));
}

TEST(Identify, UndecodableAddressesAreSkippedAndCounted) {
  Identity id;
  pb::Identify msg;
  const auto good = Multiaddr::ip_tcp("192.0.2.1", 4001);
  msg.add_listenaddrs(good.bytes().data(), good.bytes().size());
  msg.add_listenaddrs(std::string("\xff\xff\xff", 3));
  msg.set_observedaddr(std::string("\x04\x01", 2));  // truncated /ip4
  auto got = decode(serialize(msg), id.peer);
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_EQ(got->listen_addrs, std::vector<Multiaddr>{good});
  EXPECT_EQ(got->invalid_addrs, 1u);
  EXPECT_FALSE(got->observed_addr);
  EXPECT_FALSE(got->public_key);
}

asio::awaitable<Info> serve_then_receive(const Info& ours, const PeerId& as) {
  auto ex = co_await asio::this_coro::executor;
  auto [server, client] = net::make_memory_pipe(ex);
  co_await serve(*server, ours);
  co_return co_await receive(*client, as);
}

TEST(Identify, ServeAndReceiveOverAStream) {
  Identity id;
  const Info ours = sample(id);
  const Info got = test::run_coro(serve_then_receive(ours, id.peer));
  EXPECT_EQ(got.listen_addrs, ours.listen_addrs);
  EXPECT_EQ(got.protocols, ours.protocols);
}

TEST(Identify, ReceiveRefusesAForgedKeyOnTheStream) {
  Identity remote, forger;
  EXPECT_THROW(test::run_coro(serve_then_receive(sample(forger), remote.peer)), net::ProtocolError);
}

asio::awaitable<void> send_oversized_then_receive(const PeerId& as) {
  auto ex = co_await asio::this_coro::executor;
  auto [server, client] = net::make_memory_pipe(ex, 2 * kMaxMessageSize);
  co_await net::write_length_prefixed(*server, Bytes(kMaxMessageSize + 1, 0));
  co_await server->close_write();
  (void)co_await receive(*client, as);
}

TEST(Identify, ReceiveRefusesAMessageOverTheLimit) {
  Identity id;
  EXPECT_THROW(test::run_coro(send_oversized_then_receive(id.peer)), net::ProtocolError);
}

asio::awaitable<void> close_then_receive(const PeerId& as) {
  auto ex = co_await asio::this_coro::executor;
  auto [server, client] = net::make_memory_pipe(ex);
  co_await server->close_write();
  (void)co_await receive(*client, as);
}

TEST(Identify, ReceiveRefusesAStreamThatEndsBeforeTheMessage) {
  Identity id;
  EXPECT_THROW(test::run_coro(close_then_receive(id.peer)), net::ProtocolError);
}

}  // namespace
}  // namespace mp::identify

// Identify keeps only what the node uses: a 64 KiB message full of
// addresses and protocol names must not become megabytes of parsed strings.
#include <gtest/gtest.h>

#include "identify/identify.hpp"

namespace mp::identify {
namespace {

TEST(IdentifyBounds, KeepsBoundedAddressesProtocolsAndVersions) {
  const auto key = Ed25519KeyPair::generate();
  const PeerId peer = PeerId::from_public_key(key.public_key());
  Info big;
  big.public_key = key.public_key();
  big.agent_version = std::string(5000, 'a');
  big.protocol_version = std::string(300, 'p');
  for (int i = 0; i < 1000; ++i) big.listen_addrs.push_back(Multiaddr::ip_tcp("1.2.3.4", 1000 + i));
  for (int i = 0; i < 2000; ++i) big.protocols.push_back("/p/" + std::to_string(i));
  big.protocols.insert(big.protocols.begin(), std::string(500, 'x'));  // too long: dropped
  const Bytes wire = encode(big);
  ASSERT_LE(wire.size(), kMaxMessageSize);

  auto got = decode(wire, peer);
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_EQ(got->listen_addrs.size(), kMaxKeptAddrs);
  EXPECT_EQ(got->protocols.size(), kMaxKeptProtocols);
  EXPECT_EQ(got->protocols.front(), "/p/0");
  EXPECT_EQ(got->agent_version.size(), kMaxVersionLength);
  EXPECT_EQ(got->protocol_version.size(), kMaxVersionLength);
  EXPECT_EQ(got->dropped, (1000 - kMaxKeptAddrs) + (2001 - kMaxKeptProtocols));
  // What is kept is a few KiB, whatever was sent.
  EXPECT_LT(got->kept_bytes(), 16u * 1024);
  EXPECT_GT(got->kept_bytes(), 0u);
}

TEST(IdentifyBounds, SmallMessagesAreKeptWhole) {
  const auto key = Ed25519KeyPair::generate();
  const PeerId peer = PeerId::from_public_key(key.public_key());
  Info small;
  small.public_key = key.public_key();
  small.agent_version = "js-libp2p/3.3.11";
  small.listen_addrs = {Multiaddr::ip_tcp("127.0.0.1", 4001)};
  small.protocols = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/kad/1.0.0"};
  auto got = decode(encode(small), peer);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->agent_version, small.agent_version);
  EXPECT_EQ(got->listen_addrs, small.listen_addrs);
  EXPECT_EQ(got->protocols, small.protocols);
  EXPECT_EQ(got->dropped, 0u);
}

}  // namespace
}  // namespace mp::identify

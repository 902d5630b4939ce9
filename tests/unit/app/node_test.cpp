// Node as a test builds it: on 127.0.0.1 port 0 with a SQLite store in a
// temp DATA_DIR, dialled by a loopback Kademlia peer (support/kad_peer.hpp)
// in the same io_context. It answers FIND_NODE, counts it on /metrics,
// admits the identified peer to its routing table, stops, flushes, and the
// peer is in the store afterwards.
#include "app/node.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

#include "app/node_storage.hpp"
#include "kad/rpc.hpp"
#include "support/kad_peer.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace mp::app {
namespace {

using namespace std::chrono_literals;

Config loopback_node(const std::filesystem::path& data_dir) {
  Config c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/127.0.0.1/tcp/0")};
  c.data_dir = data_dir;
  c.health_bind = "127.0.0.1";
  c.health_port = 0;
  c.allow_private_addrs = true;  // the peer's 127.0.0.1 address is worth storing here
  c.ping_interval = 1h;
  return c;
}

kad::KadConfig loopback_kad() {
  kad::KadConfig k;
  k.allow_private_addrs = true;
  k.diversity.enabled = false;
  return k;
}

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

struct Exchange {
  std::optional<kad::Message> answer;
  bool in_table = false;
};

asio::awaitable<void> ask_then_stop(Node& node, test::KadPeer& peer, Exchange& out) {
  auto conn = co_await peer.host.dial(node.listen_addrs().at(0).with_peer_id(node.local_peer()));
  std::vector<std::string> protocols{std::string(kad::kDefaultProtocol)};
  auto s = co_await conn->open_stream(std::move(protocols));
  const PeerId target = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  const kad::Message request = kad::make_find_node(target.bytes());
  out.answer = co_await kad::send_request(*s.stream, request, kad::kMaxMessageSize);
  // Identify (the peer lists the Kademlia protocol) admits it to the table
  // and queues its listen address for the store.
  co_await test::until([&] { return node.kad().routing_table().contains(peer.host.local_peer()); });
  out.in_table = node.kad().routing_table().contains(peer.host.local_peer());
  node.stop();
}

TEST(Node, AnswersFindNodeCountsItAndStoresTheIdentifiedPeer) {
  test::TempDir dir("mp-node-");
  const Config config = loopback_node(dir.path());
  const auto identity = Ed25519KeyPair::generate();
  const PeerId node_id = PeerId::from_public_key(identity.public_key());
  auto store = open_peer_store(config, node_id);
  ASSERT_TRUE(store.ok()) << store.message();

  Node node(config, identity, std::move(*store));
  ASSERT_TRUE(node.start().ok());
  EXPECT_EQ(node.local_peer(), node_id);
  ASSERT_EQ(node.listen_addrs().size(), 1u);
  EXPECT_NE(node.listen_addrs()[0].tcp_endpoint()->second, 0);  // the port actually bound
  EXPECT_NE(node.http_port(), 0);
  EXPECT_TRUE(contains(node.metrics_text(), "mepassa_kad_request_duration_seconds_count 0\n"));
  EXPECT_TRUE(contains(node.metrics_text(), "mepassa_kad_snapshots_built_total 0\n"));
  EXPECT_TRUE(contains(node.metrics_text(), "mepassa_quic_segmented_sends_total 0\n"));

  test::KadPeer peer(node.io(), loopback_kad());
  Exchange ex;
  test::run_in(node.io(), ask_then_stop(node, peer, ex));

  ASSERT_TRUE(ex.answer.has_value());
  EXPECT_EQ(ex.answer->type(), kad::pb::Message_MessageType_FIND_NODE);
  EXPECT_TRUE(ex.in_table);
  // The answered request was timed (inbound, request read to answer written).
  EXPECT_TRUE(contains(node.metrics_text(), "mepassa_kad_request_duration_seconds_count 1\n"));
  // The FIND_NODE was answered from a snapshot built for it.
  EXPECT_FALSE(contains(node.metrics_text(), "mepassa_kad_snapshots_built_total 0\n"));
  ASSERT_TRUE(node.close().ok());

  // What the node wrote through is on disk after close().
  auto reopened = open_peer_store(config, node_id);
  ASSERT_TRUE(reopened.ok()) << reopened.message();
  auto peers = (*reopened)->load_peers();
  ASSERT_TRUE(peers.ok()) << peers.message();
  bool found = false;
  for (const auto& p : *peers) {
    if (p.id != peer.host.local_peer()) continue;
    found = true;
    ASSERT_FALSE(p.addrs.empty());
    EXPECT_EQ(p.addrs[0], peer.host.listen_addrs().at(0));
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE((*reopened)->close().ok());
}

}  // namespace
}  // namespace mp::app

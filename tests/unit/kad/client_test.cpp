// The client side without sockets: send_request against the real
// serve_stream over an in-memory pipe, and run_lookup driving a fake
// network of Kademlia nodes that answer with Kademlia::handle.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "kad/kademlia.hpp"
#include "kad/lookup.hpp"
#include "kad/rpc.hpp"
#include "kad/server.hpp"
#include "net/buffered_reader.hpp"
#include "net/memory_pipe.hpp"
#include "support/run_coro.hpp"
#include "test_util.hpp"

namespace mp::kad {
namespace {

using test::public_addr;
using test::random_peer;

// ---------------------------------------------------------------- rpc

TEST(CheckResponse, TypeAndKeyMustMatch) {
  const Bytes key = to_bytes("/pk/abc");
  const Message get = make_get_value(key);
  Message ok = get;
  EXPECT_TRUE(check_response(get, ok).ok());
  Message other_key = get;
  other_key.set_key("/pk/other");
  EXPECT_FALSE(check_response(get, other_key).ok());
  Message other_type = get;
  other_type.set_type(pb::Message_MessageType_FIND_NODE);
  EXPECT_FALSE(check_response(get, other_type).ok());
  // FIND_NODE answers carry no key requirement (go answers with the key,
  // others may not).
  const Message find = make_find_node(key);
  Message find_answer;
  find_answer.set_type(pb::Message_MessageType_FIND_NODE);
  EXPECT_TRUE(check_response(find, find_answer).ok());
  EXPECT_FALSE(expects_response(make_add_provider(key, PeerInfo{})));
  EXPECT_TRUE(expects_response(find));
}

struct PipeHarness {
  std::mt19937_64 rng{5};
  PeerId self = random_peer(rng);
  PeerId client = random_peer(rng);
  Kademlia kad;
  asio::io_context io;
  std::shared_ptr<net::MemoryStream> server_end;
  std::unique_ptr<net::MemoryStream> client_end;
  bool server_done = false;

  PipeHarness() : kad(self, KadConfig{}, Clock::now()) {
    for (std::uint32_t i = 0; i < 50; ++i) {
      (void)kad.on_peer_identified(random_peer(rng), {public_addr(i)}, true, Clock::now());
    }
    auto [a, b] = net::make_memory_pipe(io.get_executor());
    server_end = std::move(a);
    client_end = std::move(b);
  }
};

asio::awaitable<void> serve(PipeHarness* h) {
  co_await serve_stream(h->kad, h->server_end, h->client);
  h->server_done = true;
}

asio::awaitable<void> ask(PipeHarness* h, Message request, std::size_t max_size,
                          std::optional<Message>* out, std::string* error) {
  try {
    *out = co_await send_request(*h->client_end, request, max_size);
  } catch (const std::exception& e) {
    *error = e.what();
  }
}

void run_exchange(PipeHarness& h, Message request, std::size_t max_size,
                  std::optional<Message>& out, std::string& error) {
  asio::co_spawn(h.io, serve(&h), asio::detached);
  asio::co_spawn(h.io, ask(&h, std::move(request), max_size, &out, &error), asio::detached);
  h.io.run_for(std::chrono::seconds(10));
}

TEST(SendRequest, FindNodeAgainstServeStream) {
  PipeHarness h;
  std::optional<Message> answer;
  std::string error;
  const PeerId target = random_peer(h.rng);
  run_exchange(h, make_find_node(target.bytes()), kMaxMessageSize, answer, error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->type(), pb::Message_MessageType_FIND_NODE);
  EXPECT_EQ(answer->closerpeers_size(), static_cast<int>(kK));
  // We closed our side after the answer: the server's loop ended cleanly.
  EXPECT_TRUE(h.server_done);
}

TEST(SendRequest, AddProviderExpectsNoAnswer) {
  PipeHarness h;
  std::optional<Message> answer;
  std::string error;
  const Bytes mh = [] {
    Bytes b{0x12, 0x20};
    b.resize(34, 0xab);
    return b;
  }();
  PeerInfo me{h.client, {public_addr(900)}, pb::Message_ConnectionType_CONNECTED};
  run_exchange(h, make_add_provider(mh, me), kMaxMessageSize, answer, error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_FALSE(answer);
  std::vector<const ProviderRecord*> found;
  h.kad.providers().get(mh, Clock::now(), found);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]->provider, h.client);
}

TEST(SendRequest, OversizedAnswerIsRefused) {
  PipeHarness h;
  std::optional<Message> answer;
  std::string error;
  run_exchange(h, make_find_node(random_peer(h.rng).bytes()), 64, answer, error);
  EXPECT_FALSE(answer);
  EXPECT_FALSE(error.empty());
}

TEST(SendRequest, RefusedRequestFailsFast) {
  PipeHarness h;
  std::optional<Message> answer;
  std::string error;
  // GET_PROVIDERS with a key that is not a multihash: the server resets.
  run_exchange(h, make_get_providers(to_bytes("not a multihash")), kMaxMessageSize, answer, error);
  EXPECT_FALSE(answer);
  EXPECT_FALSE(error.empty());
}

// A server that answers with the wrong message type.
asio::awaitable<void> wrong_server(PipeHarness* h) {
  net::BufferedReader reader(*h->server_end);
  (void)co_await reader.read_length_prefixed(kMaxMessageSize);
  Message ping = make_ping();
  co_await net::write_length_prefixed(*h->server_end, encode_message(ping));
  co_await h->server_end->close_write();
}

TEST(SendRequest, MismatchedAnswerIsRefused) {
  PipeHarness h;
  std::optional<Message> answer;
  std::string error;
  asio::co_spawn(h.io, wrong_server(&h), asio::detached);
  asio::co_spawn(h.io, ask(&h, make_find_node(h.self.bytes()), kMaxMessageSize, &answer, &error),
                 asio::detached);
  h.io.run_for(std::chrono::seconds(10));
  EXPECT_FALSE(answer);
  EXPECT_NE(error.find("PING"), std::string::npos) << error;
}

// ---------------------------------------------------------------- lookup

// Every node is a full Kademlia answering with handle(); requests take a
// short timer wait so several are in flight at once.
struct FakeNetwork {
  std::mt19937_64 rng{2024};
  std::vector<PeerId> ids;
  std::unordered_map<PeerId, std::unique_ptr<Kademlia>> nodes;
  std::unordered_map<PeerId, Multiaddr> addr_of;
  std::unordered_set<PeerId> failing;  // throw
  std::unordered_set<PeerId> silent;   // answer only after a long time
  PeerId local;
  std::size_t in_flight = 0;
  std::size_t max_in_flight = 0;
  std::size_t requests = 0;
  std::size_t missing_addrs = 0;

  FakeNetwork(std::size_t n, std::size_t known_per_node) {
    local = random_peer(rng);
    KadConfig c;
    c.diversity.enabled = false;
    c.insert_policy = InsertPolicy::kAll;
    for (std::size_t i = 0; i < n; ++i) {
      ids.push_back(random_peer(rng));
      addr_of.emplace(ids.back(), public_addr(static_cast<std::uint32_t>(i)));
      nodes.emplace(ids.back(), std::make_unique<Kademlia>(ids.back(), c, Clock::now()));
    }
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    for (const auto& id : ids) {
      for (std::size_t j = 0; j < known_per_node; ++j) {
        const PeerId& other = ids[pick(rng)];
        if (other == id) continue;
        (void)nodes[id]->on_peer_identified(other, {addr_of.at(other)}, true, Clock::now());
      }
    }
  }

  // The true k closest to `target` among peers that answer.
  std::vector<PeerId> truth(const Key& target, std::size_t k) const {
    std::vector<PeerId> all;
    for (const auto& id : ids) {
      if (!failing.count(id) && !silent.count(id)) all.push_back(id);
    }
    std::sort(all.begin(), all.end(), [&](const PeerId& a, const PeerId& b) {
      return Key::from_peer(a).distance(target) < Key::from_peer(b).distance(target);
    });
    all.resize(std::min(all.size(), k));
    return all;
  }
};

asio::awaitable<Message> fake_send(FakeNetwork* net, PeerInfo peer, Message request) {
  ++net->requests;
  if (peer.addrs.empty()) ++net->missing_addrs;  // the driver must pass learned addresses
  net->max_in_flight = std::max(net->max_in_flight, ++net->in_flight);
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(net->silent.count(peer.id) ? std::chrono::milliseconds(1500)
                                             : std::chrono::milliseconds(1));
  co_await t.async_wait(asio::use_awaitable);
  --net->in_flight;
  if (net->failing.count(peer.id) || net->silent.count(peer.id)) {
    throw std::runtime_error("connection refused");
  }
  auto answer = net->nodes.at(peer.id)->handle(net->local, request, Clock::now());
  if (!answer) throw std::runtime_error("no answer");
  co_return std::move(*answer);
}

struct FakeSender {
  FakeNetwork* net;
  asio::awaitable<Message> operator()(PeerInfo peer, Message request) const {
    return fake_send(net, std::move(peer), std::move(request));
  }
};

struct LookupSetup {
  ClosestPeersQuery query;
  std::vector<PeerInfo> known;
};

LookupSetup seeded_query(FakeNetwork& net, const Key& target, std::size_t n_seeds,
                         QueryConfig qc = {}) {
  std::vector<PeerId> seeds;
  std::vector<PeerInfo> known;
  for (std::size_t i = 0; i < n_seeds; ++i) {
    const PeerId& id = net.ids[i * 7 % net.ids.size()];
    seeds.push_back(id);
    known.push_back(PeerInfo{id, {net.addr_of.at(id)}, pb::Message_ConnectionType_NOT_CONNECTED});
  }
  return {ClosestPeersQuery(target, net.local, seeds, qc, Clock::now()), std::move(known)};
}

LookupResult lookup(FakeNetwork& net, LookupSetup setup, const PeerId& target,
                    OnAnswer on_answer = {}) {
  Message request = make_find_node(target.bytes());
  SendRequest send = FakeSender{&net};
  return mp::test::run_coro(run_lookup(std::move(setup.query), std::move(setup.known),
                                       std::move(request), std::move(send), AddressPolicy{},
                                       std::move(on_answer)));
}

std::vector<PeerId> ids_of(const std::vector<PeerInfo>& peers) {
  std::vector<PeerId> out;
  for (const auto& p : peers) out.push_back(p.id);
  return out;
}

// Each node knows a random 80 of the 119 others: enough for greedy
// lookups to converge on the exact k closest (see simulation_test.cpp for
// the pure state machine at scale).
TEST(RunLookup, FindsTheKClosestWithAlphaInFlight) {
  FakeNetwork net(120, 80);
  for (int round = 0; round < 5; ++round) {
    const PeerId target = random_peer(net.rng);
    const Key key = Key::from_peer(target);
    net.max_in_flight = 0;
    auto r = lookup(net, seeded_query(net, key, 5), target);
    EXPECT_EQ(ids_of(r.closest), net.truth(key, kK)) << "round " << round;
    EXPECT_LE(net.max_in_flight, kAlpha);
    EXPECT_GT(net.max_in_flight, 1u) << "requests ran one at a time";
    EXPECT_EQ(r.failures, 0u);
    // Requests beyond the k closest may still be in flight when it ends.
    EXPECT_LE(r.answered.size(), r.requests);
    EXPECT_GE(r.answered.size(), kK);
    // Peers learned from answers were dialled with the addresses given.
    EXPECT_EQ(net.missing_addrs, 0u);
    for (const auto& p : r.closest) {
      ASSERT_EQ(p.addrs.size(), 1u);
      EXPECT_EQ(p.addrs[0], net.addr_of.at(p.id));
    }
  }
}

TEST(RunLookup, FailingPeersAreLeftOut) {
  FakeNetwork net(120, 80);
  for (std::size_t i = 0; i < net.ids.size(); i += 9) net.failing.insert(net.ids[i]);
  const PeerId target = random_peer(net.rng);
  const Key key = Key::from_peer(target);
  auto r = lookup(net, seeded_query(net, key, 6), target);
  EXPECT_GT(r.failures, 0u);
  for (const auto& p : r.closest) EXPECT_FALSE(net.failing.count(p.id));
  EXPECT_EQ(ids_of(r.closest), net.truth(key, kK));
}

TEST(RunLookup, SilentPeersTimeOutAndTheLookupFinishes) {
  FakeNetwork net(200, 30);
  const PeerId target = random_peer(net.rng);
  const Key key = Key::from_peer(target);
  QueryConfig qc;
  qc.request_timeout = std::chrono::milliseconds(50);
  auto setup = seeded_query(net, key, 4, qc);
  // Two of the seeds never answer in time.
  net.silent.insert(setup.known[0].id);
  net.silent.insert(setup.known[1].id);
  auto r = lookup(net, std::move(setup), target);
  for (const auto& p : r.closest) EXPECT_FALSE(net.silent.count(p.id));
  EXPECT_EQ(r.closest.size(), kK);
}

TEST(RunLookup, QueryTimeoutBoundsTheWholeLookup) {
  FakeNetwork net(50, 10);
  for (const auto& id : net.ids) net.silent.insert(id);
  const PeerId target = random_peer(net.rng);
  QueryConfig qc;
  qc.query_timeout = std::chrono::milliseconds(100);
  auto r = lookup(net, seeded_query(net, Key::from_peer(target), 5, qc), target);
  EXPECT_TRUE(r.closest.empty());
  EXPECT_LE(r.requests, kAlpha);
}

bool stop_at_first(const PeerInfo&, const Message&) { return true; }

TEST(RunLookup, OnAnswerCanStopTheLookup) {
  FakeNetwork net(200, 30);
  const PeerId target = random_peer(net.rng);
  auto r = lookup(net, seeded_query(net, Key::from_peer(target), 5), target, stop_at_first);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(r.answered.size(), 1u);
  EXPECT_LE(r.requests, kAlpha);
}

}  // namespace
}  // namespace mp::kad

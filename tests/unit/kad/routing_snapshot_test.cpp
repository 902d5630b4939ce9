#include "kad/routing_snapshot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/varint.hpp"
#include "kad/kademlia.hpp"
#include "test_util.hpp"

namespace mp::kad {
namespace {

using test::public_addr;
using test::random_peer;
using test::t0;

RoutingTableConfig open_config() {
  RoutingTableConfig c;
  c.policy = InsertPolicy::kAll;
  c.diversity.enabled = false;
  return c;
}

// A table of up to `n` random peers (1-3 addresses each), some removed again.
void fill(RoutingTable& t, std::size_t n, std::mt19937_64& rng, std::vector<PeerId>& added) {
  for (std::size_t i = 0; i < n; ++i) {
    const PeerId p = random_peer(rng);
    std::vector<Multiaddr> addrs;
    for (std::size_t a = 0; a <= rng() % 3; ++a) {
      addrs.push_back(public_addr(static_cast<std::uint32_t>(rng() % 15000),
                                  static_cast<std::uint32_t>(rng() % 65536)));
    }
    if (t.update(p, addrs, true, t0()).outcome == UpdateOutcome::kInserted) added.push_back(p);
  }
  for (std::size_t i = 0; i < added.size(); i += 7) t.remove(added[i]);
}

Key random_key(std::mt19937_64& rng) {
  std::array<std::uint8_t, kKeyBytes> raw{};
  for (auto& b : raw) b = static_cast<std::uint8_t>(rng());
  return Key::from_raw(raw);
}

ConnectionType every_third_connected(const PeerId& p) {
  return p.bytes().back() % 3 == 0 ? pb::Message_ConnectionType_CONNECTED
                                   : pb::Message_ConnectionType_NOT_CONNECTED;
}

// The FIND_NODE answer as Kademlia built it from the live table before
// snapshots: a Message of the closest peers, serialized with its prefix.
Bytes live_answer(const RoutingTable& t, const PeerId& remote, BytesView key, std::size_t k) {
  Message m;
  m.set_type(pb::Message_MessageType_FIND_NODE);
  std::vector<const PeerEntry*> closest;
  t.closest(Key::from_bytes(key), k, closest, &remote);
  for (const PeerEntry* e : closest) {
    set_peer(*m.add_closerpeers(), e->id, e->addrs, every_third_connected(e->id));
  }
  const Bytes body = encode_message(m);
  Bytes out;
  varint::encode(body.size(), out);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(RoutingSnapshot, ClosestMatchesTheLiveTable) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    RoutingTable t(random_peer(rng), open_config(), t0());
    std::vector<PeerId> added;
    fill(t, rng() % 3000, rng, added);
    const auto snap = RoutingSnapshot::build(t, {}, every_third_connected);
    ASSERT_EQ(snap->size(), t.size());
    std::vector<const PeerEntry*> live;
    std::vector<std::uint32_t> snapped;
    for (int q = 0; q < 50; ++q) {
      const Key target = random_key(rng);
      const std::size_t count = 1 + rng() % 40;
      // Exclude a table peer half of the time.
      const PeerId* exclude = (!added.empty() && q % 2) ? &added[rng() % added.size()] : nullptr;
      t.closest(target, count, live, exclude);
      snap->closest(target, count, snapped, exclude ? BytesView(exclude->bytes()) : BytesView{});
      ASSERT_EQ(live.size(), snapped.size());
      for (std::size_t i = 0; i < live.size(); ++i) {
        EXPECT_EQ(snap->key(snapped[i]), live[i]->key);
        EXPECT_EQ(as_string(snap->peer_id_bytes(snapped[i])), as_string(live[i]->id.bytes()));
      }
    }
  }
}

TEST(RoutingSnapshot, FindNodeAnswerIsTheLiveAnswerByteForByte) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 10; ++round) {
    RoutingTable t(random_peer(rng), open_config(), t0());
    std::vector<PeerId> added;
    fill(t, 500 + rng() % 2000, rng, added);
    const auto snap = RoutingSnapshot::build(t, {}, every_third_connected);
    std::vector<std::uint32_t> scratch;
    Bytes out;
    for (int q = 0; q < 50; ++q) {
      const PeerId remote = q % 2 ? added[rng() % added.size()] : random_peer(rng);
      const PeerId target = random_peer(rng);
      write_find_node_answer(*snap, remote, target.bytes(), kK, scratch, out);
      EXPECT_EQ(out, live_answer(t, remote, target.bytes(), kK));
    }
  }
}

TEST(RoutingSnapshot, AnswersAboutOurselvesWithOurAddresses) {
  std::mt19937_64 rng(3);
  const PeerId local = random_peer(rng);
  RoutingTable t(local, open_config(), t0());
  t.update(random_peer(rng), {public_addr(1)}, true, t0());
  const std::vector<Multiaddr> ours{public_addr(2), public_addr(3)};
  const auto snap = RoutingSnapshot::build(t, ours, {});
  std::vector<std::uint32_t> scratch;
  Bytes out;
  write_find_node_answer(*snap, random_peer(rng), local.bytes(), kK, scratch, out);
  const auto len = varint::decode(out);
  ASSERT_TRUE(len);
  Message m;
  ASSERT_TRUE(decode_message_into(BytesView(out).subspan(len->size), m));
  EXPECT_EQ(m.type(), pb::Message_MessageType_FIND_NODE);
  ASSERT_EQ(m.closerpeers_size(), 1);
  EXPECT_EQ(m.closerpeers(0).id(), as_string(local.bytes()));
  EXPECT_EQ(m.closerpeers(0).addrs_size(), 2);
  EXPECT_EQ(m.closerpeers(0).connection(), pb::Message_ConnectionType_CONNECTED);
}

TEST(RoutingSnapshot, MemoryIsBoundedByTheTable) {
  std::mt19937_64 rng(5);
  RoutingTable t(random_peer(rng), open_config(), t0());
  std::vector<PeerId> added;
  fill(t, 4000, rng, added);
  const auto snap = RoutingSnapshot::build(t, {}, {});
  // Each peer: its id and addresses, a few bytes of protobuf framing per
  // field, and one fixed-size index entry.
  std::size_t content = 0;
  for (std::size_t b = 0; b < RoutingTable::kBuckets; ++b) {
    for (const auto& e : t.bucket(b).entries()) {
      content += e.id.bytes().size() + 3;
      for (const auto& a : e.addrs) content += a.bytes().size() + 3;
    }
  }
  EXPECT_LE(snap->memory_bytes(), sizeof(RoutingSnapshot) + content + t.size() * 48 + 256);
}

TEST(RoutingTableVersion, ChangesWithPeersAndAddressesOnly) {
  std::mt19937_64 rng(9);
  RoutingTable t(random_peer(rng), open_config(), t0());
  const PeerId p = random_peer(rng);
  auto v = t.version();
  t.update(p, {public_addr(1)}, true, t0());
  EXPECT_NE(t.version(), v);
  v = t.version();
  t.update(p, {public_addr(1)}, true, t0() + std::chrono::seconds(1));  // seen again
  EXPECT_EQ(t.version(), v);
  t.update(p, {public_addr(2)}, true, t0());  // new address
  EXPECT_NE(t.version(), v);
  v = t.version();
  t.remove(p);
  EXPECT_NE(t.version(), v);
}

KadConfig open_kad() {
  KadConfig c;
  c.insert_policy = InsertPolicy::kAll;
  c.diversity.enabled = false;
  return c;
}

Message answer_of(Kademlia& kad, const PeerId& remote, const Message& req) {
  Message scratch;
  Bytes out;
  const auto r = kad.answer(remote, req, t0(), scratch, out);
  EXPECT_EQ(r.disposition, Disposition::kRespond);
  const auto len = varint::decode(out);
  Message m;
  EXPECT_TRUE(len && decode_message_into(BytesView(out).subspan(len->size), m));
  return m;
}

TEST(KademliaSnapshot, RebuiltOnceAfterEachChange) {
  std::mt19937_64 rng(13);
  Kademlia kad(random_peer(rng), open_kad(), t0());
  const PeerId remote = random_peer(rng);
  const PeerId a = random_peer(rng);
  kad.on_peer_identified(a, {public_addr(1)}, true, t0());
  const Message req = make_find_node(random_peer(rng).bytes());
  EXPECT_EQ(answer_of(kad, remote, req).closerpeers_size(), 1);
  EXPECT_EQ(answer_of(kad, remote, req).closerpeers_size(), 1);
  EXPECT_EQ(kad.counters().snapshots_built.load(), 1u);
  ASSERT_TRUE(kad.snapshot());
  EXPECT_EQ(kad.snapshot()->size(), 1u);

  // A new peer shows in the next answer; seeing it again rebuilds nothing.
  const PeerId b = random_peer(rng);
  kad.on_peer_identified(b, {public_addr(2)}, true, t0());
  EXPECT_EQ(answer_of(kad, remote, req).closerpeers_size(), 2);
  kad.on_peer_identified(b, {public_addr(2)}, true, t0() + std::chrono::seconds(5));
  EXPECT_EQ(answer_of(kad, remote, req).closerpeers_size(), 2);
  EXPECT_EQ(kad.counters().snapshots_built.load(), 2u);
  EXPECT_EQ(kad.snapshot()->size(), 2u);

  // The requester itself is never in its answer.
  EXPECT_EQ(answer_of(kad, a, req).closerpeers_size(), 1);

  // Connectedness reported by the host shows in the next answer.
  bool a_connected = false;
  kad.set_connectedness([&](const PeerId& p) {
    return p == a && a_connected ? pb::Message_ConnectionType_CONNECTED
                                 : pb::Message_ConnectionType_NOT_CONNECTED;
  });
  answer_of(kad, remote, req);
  a_connected = true;
  kad.on_connectedness_changed(a);
  const Message m = answer_of(kad, remote, req);
  bool seen = false;
  for (const auto& p : m.closerpeers()) {
    if (p.id() == as_string(a.bytes())) {
      seen = true;
      EXPECT_EQ(p.connection(), pb::Message_ConnectionType_CONNECTED);
    }
  }
  EXPECT_TRUE(seen);

  // A removed peer is gone from the next answer.
  kad.on_peer_unreachable(b);
  EXPECT_EQ(answer_of(kad, remote, req).closerpeers_size(), 1);
}

TEST(KademliaSnapshot, AnswerAndHandleAgree) {
  std::mt19937_64 rng(17);
  Kademlia kad(random_peer(rng), open_kad(), t0());
  for (int i = 0; i < 300; ++i) {
    kad.on_peer_identified(random_peer(rng), {public_addr(static_cast<std::uint32_t>(i))}, true,
                           t0());
  }
  const PeerId remote = random_peer(rng);
  for (int q = 0; q < 20; ++q) {
    const Message req = make_find_node(random_peer(rng).bytes());
    auto handled = kad.handle(remote, req, t0());
    ASSERT_TRUE(handled);
    EXPECT_EQ(answer_of(kad, remote, req).SerializeAsString(), handled->SerializeAsString());
  }
}

// One thread owns the table: it changes it and publishes snapshots; four
// others answer FIND_NODE from whatever snapshot is current, as handlers on
// other io_contexts would. Each answer must be well formed and consistent
// with the snapshot it came from.
TEST(RoutingSnapshot, ReadersOnOtherThreadsWhileTheOwnerPublishes) {
  std::mt19937_64 rng(21);
  RoutingTable t(random_peer(rng), open_config(), t0());
  std::vector<PeerId> added;
  fill(t, 1000, rng, added);
  SnapshotCell cell;
  cell.store(RoutingSnapshot::build(t, {}, {}));

  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> answers{0};
  std::atomic<std::uint64_t> bad{0};
  auto reader = [&](std::uint64_t seed) {
    std::mt19937_64 r(seed);
    std::vector<std::uint32_t> scratch;
    Bytes out;
    Message m;
    std::uint64_t mine = 0;
    SnapshotReader view(cell);
    while (!done.load(std::memory_order_acquire) || mine < 200) {
      // Half the readers keep their copy until the cell changes.
      const std::shared_ptr<const RoutingSnapshot> loaded = seed % 2 ? nullptr : cell.load();
      const RoutingSnapshot* snap = loaded ? loaded.get() : view.get();
      const PeerId remote = random_peer(r);
      const PeerId target = random_peer(r);
      write_find_node_answer(*snap, remote, target.bytes(), kK, scratch, out);
      const auto len = varint::decode(out);
      const bool ok = len && len->value + len->size == out.size() &&
                      decode_message_into(BytesView(out).subspan(len->size), m) &&
                      static_cast<std::size_t>(m.closerpeers_size()) ==
                          std::min<std::size_t>(kK, snap->size());
      // Nearest first.
      bool sorted = ok;
      const Key tk = Key::from_peer(target);
      for (int i = 1; sorted && i < m.closerpeers_size(); ++i) {
        sorted = !closer_to(tk, Key::from_bytes(as_bytes(m.closerpeers(i).id())),
                            Key::from_bytes(as_bytes(m.closerpeers(i - 1).id())));
      }
      if (!ok || !sorted) bad.fetch_add(1, std::memory_order_relaxed);
      ++mine;
    }
    answers.fetch_add(mine, std::memory_order_relaxed);
  };
  std::vector<std::thread> readers;
  for (std::uint64_t i = 0; i < 4; ++i) readers.emplace_back(reader, 100 + i);

  std::size_t published = 0;
  for (int change = 0; change < 300; ++change) {
    if (change % 2 == 0 || added.empty()) {
      const PeerId p = random_peer(rng);
      if (t.update(p, {public_addr(static_cast<std::uint32_t>(change))}, true, t0()).outcome ==
          UpdateOutcome::kInserted) {
        added.push_back(p);
      }
    } else {
      t.remove(added[rng() % added.size()]);
    }
    cell.store(RoutingSnapshot::build(t, {}, {}));
    ++published;
  }
  done.store(true, std::memory_order_release);
  for (auto& th : readers) th.join();
  EXPECT_EQ(published, 300u);
  EXPECT_GE(answers.load(), 800u);
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(cell.load()->size(), t.size());
}

TEST(SnapshotReader, FollowsTheCell) {
  std::mt19937_64 rng(23);
  RoutingTable t(random_peer(rng), open_config(), t0());
  SnapshotCell cell;
  SnapshotReader reader(cell);
  EXPECT_EQ(reader.get(), nullptr);
  cell.store(RoutingSnapshot::build(t, {}, {}));
  const RoutingSnapshot* first = reader.get();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reader.get(), first);  // kept while the cell does not change
  t.update(random_peer(rng), {public_addr(1)}, true, t0());
  cell.store(RoutingSnapshot::build(t, {}, {}));
  ASSERT_NE(reader.get(), nullptr);
  EXPECT_EQ(reader.get()->size(), 1u);
}

}  // namespace
}  // namespace mp::kad

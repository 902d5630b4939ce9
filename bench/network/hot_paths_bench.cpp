// Hot pure paths of the node, without sockets (bench/README.md, "Network"):
// the Noise transport cipher on full 64 KiB frames, the Yamux frame header
// codec, RoutingTable::closest, and FIND_NODE answered by Kademlia::handle
// (alone, and with the request decoded and the answer encoded as
// serve_stream does). Numbers only; nothing is asserted.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "core/varint.hpp"
#include "kad/kademlia.hpp"
#include "kad/protocol.hpp"
#include "kad/routing_snapshot.hpp"
#include "kad/routing_table.hpp"
#include "noise/cipher_state.hpp"
#include "noise/framing.hpp"
#include "yamux/frame.hpp"

namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 r(42);
  return r;
}

mp::Bytes random_bytes(std::size_t n) {
  mp::Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng()());
  return b;
}

// A random sha2-256 Peer ID (libp2p/specs peer-ids: a multihash of the key);
// cheap to make by the thousand, and hashed like any other by Key::from_peer.
mp::PeerId random_peer() {
  mp::Bytes mh = {0x12, 0x20};
  const mp::Bytes digest = random_bytes(32);
  mh.insert(mh.end(), digest.begin(), digest.end());
  auto id = mp::PeerId::from_bytes(mh);
  if (!id) throw std::runtime_error("bad peer id");
  return *id;
}

std::vector<mp::Multiaddr> addrs_for(std::size_t i) {
  // Private addresses (admitted with allow_private_addrs, and not counted
  // by the diversity filter), two per peer like a typical client.
  const std::string ip = "10." + std::to_string((i >> 16) & 0xff) + "." +
                         std::to_string((i >> 8) & 0xff) + "." + std::to_string(i & 0xff);
  std::vector<mp::Multiaddr> out;
  out.push_back(*mp::Multiaddr::parse("/ip4/" + ip + "/tcp/4001"));
  out.push_back(*mp::Multiaddr::parse("/ip4/" + ip + "/udp/4001/quic-v1"));
  return out;
}

// --- Noise transport: one full frame (65519 bytes of plaintext) ---

mp::noise::Key32 bench_key() {
  mp::noise::Key32 k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
  return k;
}

void BM_NoiseEncryptFrame(benchmark::State& state) {
  mp::noise::CipherState cipher(bench_key());
  const mp::Bytes plaintext = random_bytes(mp::noise::kMaxFramePlaintext);
  mp::Bytes out;
  out.reserve(mp::noise::kMaxFrameLen + mp::noise::kFrameHeaderLen);
  for (auto _ : state) {
    out.clear();
    if (!mp::noise::encrypt_frame(cipher, plaintext, out)) state.SkipWithError("encrypt failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plaintext.size()));
}
BENCHMARK(BM_NoiseEncryptFrame);

void BM_NoiseDecryptFrame(benchmark::State& state) {
  mp::noise::CipherState sender(bench_key());
  mp::noise::CipherState receiver(bench_key());
  const mp::Bytes plaintext = random_bytes(mp::noise::kMaxFramePlaintext);
  mp::Bytes frame;
  if (!mp::noise::encrypt_frame(sender, plaintext, frame)) throw std::runtime_error("encrypt");
  const mp::BytesView body(frame.data() + mp::noise::kFrameHeaderLen,
                           frame.size() - mp::noise::kFrameHeaderLen);
  mp::Bytes out(plaintext.size());
  for (auto _ : state) {
    receiver.set_nonce(0);  // the same frame again: rewind the receiver's nonce
    auto n = receiver.decrypt_with_ad({}, body, out);
    if (!n) state.SkipWithError("decrypt failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plaintext.size()));
}
BENCHMARK(BM_NoiseDecryptFrame);

// --- Yamux: header encode + decode, per header ---

void BM_YamuxHeaderRoundTrip(benchmark::State& state) {
  std::vector<mp::yamux::FrameHeader> headers;
  for (std::uint32_t i = 0; i < 1024; ++i) {
    mp::yamux::FrameHeader h;
    h.type = (i % 4 == 0) ? mp::yamux::FrameType::window_update : mp::yamux::FrameType::data;
    h.flags = (i % 16 == 0) ? mp::yamux::flags::syn : 0;
    h.stream_id = 1 + 2 * (i % 64);
    h.length = 1 + (i * 97) % 16384;
    headers.push_back(h);
  }
  std::array<std::uint8_t, mp::yamux::kHeaderSize> buf{};
  std::uint64_t sum = 0;
  for (auto _ : state) {
    for (const auto& h : headers) {
      mp::yamux::encode_header(h, buf);
      auto d = mp::yamux::decode_header(buf, 256 * 1024);
      if (!d) state.SkipWithError("decode failed");
      sum += d->length;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * headers.size()));
}
BENCHMARK(BM_YamuxHeaderRoundTrip);

// --- Kademlia ---

constexpr std::size_t kOffered = 10'000;  // peers offered to the table

mp::kad::TimePoint start_time() { return mp::kad::Clock::now(); }

// k-buckets keep at most k = 20 peers each, and random peers fall in the
// farthest buckets, so 10,000 offered peers leave a table of ~200: what a
// bootstrap node holds in a large network. The table's size is reported.
void BM_RoutingTableClosest(benchmark::State& state) {
  const auto now = start_time();
  mp::kad::RoutingTableConfig cfg;
  cfg.policy = mp::kad::InsertPolicy::kAll;
  cfg.addresses.allow_private_addrs = true;
  mp::kad::RoutingTable table(random_peer(), cfg, now);
  std::size_t size = 0;
  for (std::size_t i = 0; i < kOffered; ++i) {
    auto r = table.update(random_peer(), addrs_for(i), true, now);
    if (r.outcome == mp::kad::UpdateOutcome::kInserted) ++size;
  }
  std::vector<mp::kad::Key> targets;
  for (int i = 0; i < 1024; ++i) targets.push_back(mp::kad::Key::from_bytes(random_bytes(34)));
  std::vector<const mp::kad::PeerEntry*> out;
  std::size_t t = 0;
  for (auto _ : state) {
    table.closest(targets[t++ % targets.size()], 20, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["table_size"] = static_cast<double>(size);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_RoutingTableClosest);

struct KadFixture {
  KadFixture() : kad(random_peer(), config(), start_time()), remote(random_peer()) {
    const auto now = start_time();
    for (std::size_t i = 0; i < kOffered; ++i) kad.on_peer_identified(random_peer(), addrs_for(i), true, now);
    for (int i = 0; i < 1024; ++i) {
      const mp::Bytes key = random_bytes(34);
      requests.push_back(mp::kad::make_find_node(key));
      wire.push_back(mp::kad::encode_message(requests.back()));
    }
  }
  static mp::kad::KadConfig config() {
    mp::kad::KadConfig c;
    c.insert_policy = mp::kad::InsertPolicy::kAll;
    c.allow_private_addrs = true;
    return c;
  }
  mp::kad::Kademlia kad;
  mp::PeerId remote;
  std::vector<mp::kad::Message> requests;
  std::vector<mp::Bytes> wire;  // the same requests, encoded (no length prefix)
};

// handle() alone: request already parsed, answer left as a protobuf.
void BM_FindNodeHandle(benchmark::State& state) {
  KadFixture f;
  mp::kad::Message response;
  std::size_t i = 0;
  const auto now = start_time();
  for (auto _ : state) {
    auto r = f.kad.handle(f.remote, f.requests[i++ % f.requests.size()], now, response);
    if (r.disposition != mp::kad::Disposition::kRespond) state.SkipWithError("no answer");
    benchmark::DoNotOptimize(response.closerpeers_size());
  }
  state.counters["table_size"] = static_cast<double>(f.kad.routing_table().closest_peers(
      mp::kad::Key::from_bytes(random_bytes(34)), 100000).size());
  state.counters["closer_peers"] = static_cast<double>(response.closerpeers_size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_FindNodeHandle);

// What serve_stream does per request: parse the bytes into a reused
// Message, Kademlia::answer() (FIND_NODE: the routing-table snapshot's
// encoded peers copied, with the length prefix, into a reused buffer).
void BM_FindNodeBytesToBytes(benchmark::State& state) {
  KadFixture f;
  mp::kad::Message request;
  mp::kad::Message response;
  mp::Bytes out;
  std::size_t i = 0;
  const auto now = start_time();
  for (auto _ : state) {
    if (!mp::kad::decode_message_into(f.wire[i++ % f.wire.size()], request)) state.SkipWithError("decode");
    auto r = f.kad.answer(f.remote, request, now, response, out);
    if (r.disposition != mp::kad::Disposition::kRespond) state.SkipWithError("no answer");
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["answer_bytes"] = static_cast<double>(out.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_FindNodeBytesToBytes);

// The owner's rebuild of the routing-table snapshot after a change (the
// first answer after it pays this), for the table left by Arg offered
// random peers (10k: ~200 entries; 1M: the few hundred a bootstrap node's
// table holds against a large network, every reachable bucket full).
void BM_RoutingSnapshotBuild(benchmark::State& state) {
  const auto now = start_time();
  mp::kad::RoutingTableConfig cfg;
  cfg.policy = mp::kad::InsertPolicy::kAll;
  cfg.addresses.allow_private_addrs = true;
  mp::kad::RoutingTable table(random_peer(), cfg, now);
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    table.update(random_peer(), addrs_for(static_cast<std::size_t>(i)), true, now);
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto snap = mp::kad::RoutingSnapshot::build(table, {}, {});
    bytes = snap->memory_bytes();
    benchmark::DoNotOptimize(snap.get());
  }
  state.counters["table_size"] = static_cast<double>(table.size());
  state.counters["snapshot_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_RoutingSnapshotBuild)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

// FIND_NODE answered from the published snapshot by 1 or 2 threads at once,
// as handlers on several io_contexts would: Arg 0 load()s the cell for every
// answer (mutex and shared count touched by both threads), Arg 1 keeps a
// SnapshotReader per thread (re-loads only after a change). Then the answer
// bytes are written.
void BM_FindNodeFromSnapshot(benchmark::State& state) {
  static KadFixture* f = nullptr;
  if (state.thread_index() == 0) {
    f = new KadFixture();
    f->kad.publish_snapshot();
  }
  std::vector<std::uint32_t> scratch;
  mp::Bytes out;
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 97;
  const bool cached = state.range(0) != 0;
  // Made in the loop: thread 0 builds the fixture before it, the others
  // see it only once the loop's start has synchronised them.
  std::optional<mp::kad::SnapshotReader> reader;
  for (auto _ : state) {
    const auto& req = f->requests[i++ % f->requests.size()];
    if (cached) {
      if (!reader) reader.emplace(f->kad.snapshot_cell());
      mp::kad::write_find_node_answer(*reader->get(), f->remote, mp::as_bytes(req.key()), 20,
                                      scratch, out);
    } else {
      const auto snap = f->kad.snapshot();
      mp::kad::write_find_node_answer(*snap, f->remote, mp::as_bytes(req.key()), 20, scratch, out);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    delete f;
    f = nullptr;
  }
}
BENCHMARK(BM_FindNodeFromSnapshot)->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

#include "kad/routing_snapshot.hpp"

#include <algorithm>

#include "core/varint.hpp"

namespace mp::kad {

namespace {
// Message field tags (dht.proto): type = 1 (varint), closerPeers = 8 (bytes).
constexpr std::uint8_t kTypeTag = (1 << 3) | 0;
constexpr std::uint8_t kCloserPeersTag = (8 << 3) | 2;

void append(Bytes& out, BytesView b) { out.insert(out.end(), b.begin(), b.end()); }
}  // namespace

std::shared_ptr<const RoutingSnapshot> RoutingSnapshot::build(const RoutingTable& table,
                                                              std::span<const Multiaddr> local_addrs,
                                                              const Connectedness& connectedness,
                                                              std::uint64_t changes) {
  auto snap = std::make_shared<RoutingSnapshot>();
  snap->changes_ = changes;
  snap->local_key_ = table.local_key();
  snap->local_id_ = std::string(as_string(table.local_peer().bytes()));
  snap->table_version_ = table.version();
  pb::Message_Peer peer;
  set_peer(peer, table.local_peer(), local_addrs, pb::Message_ConnectionType_CONNECTED);
  peer.SerializeToString(&snap->self_);

  snap->entries_.reserve(table.size());
  std::string encoded;
  for (std::size_t b = 0; b < RoutingTable::kBuckets; ++b) {
    snap->bucket_begin_[b] = static_cast<std::uint32_t>(snap->entries_.size());
    for (const PeerEntry& e : table.bucket(b).entries()) {
      const ConnectionType ct =
          connectedness ? connectedness(e.id) : pb::Message_ConnectionType_NOT_CONNECTED;
      set_peer(peer, e.id, e.addrs, ct);
      encoded.clear();
      peer.SerializeToString(&encoded);
      const auto offset = static_cast<std::uint32_t>(snap->blob_.size());
      // Field 1 (id) comes first in the encoding: its tag, length, bytes.
      const std::size_t id_len = e.id.bytes().size();
      const auto id_offset =
          static_cast<std::uint32_t>(offset + 1 + varint::encoded_size(id_len));
      snap->blob_ += encoded;
      snap->entries_.push_back({e.key, offset, static_cast<std::uint32_t>(encoded.size()),
                                id_offset, static_cast<std::uint32_t>(id_len)});
    }
  }
  snap->bucket_begin_[RoutingTable::kBuckets] = static_cast<std::uint32_t>(snap->entries_.size());
  snap->blob_.shrink_to_fit();
  return snap;
}

BytesView RoutingSnapshot::peer_id_bytes(std::uint32_t i) const {
  return as_bytes(std::string_view(blob_).substr(entries_[i].id_offset, entries_[i].id_length));
}

BytesView RoutingSnapshot::peer_bytes(std::uint32_t i) const {
  return as_bytes(std::string_view(blob_).substr(entries_[i].offset, entries_[i].length));
}

std::size_t RoutingSnapshot::memory_bytes() const {
  return sizeof(*this) + entries_.capacity() * sizeof(Entry) + blob_.capacity() + self_.capacity() +
         local_id_.capacity();
}

void RoutingSnapshot::closest(const Key& target, std::size_t count, std::vector<std::uint32_t>& out,
                              BytesView exclude) const {
  // The same bands as RoutingTable::closest, over the snapshot's buckets.
  auto add_bucket = [&](std::size_t b) {
    for (std::uint32_t j = bucket_begin_[b]; j < bucket_begin_[b + 1]; ++j) {
      if (!exclude.empty() && std::ranges::equal(peer_id_bytes(j), exclude)) continue;
      out.push_back(j);
    }
  };
  closest_in_bands(local_key_, target, count, RoutingTable::kBuckets, out, add_bucket,
                   [this](std::uint32_t i) -> const Key& { return entries_[i].key; });
}

std::size_t closer_peers_size(const RoutingSnapshot& snap, std::span<const std::uint32_t> peers) {
  std::size_t n = 0;
  for (std::uint32_t i : peers) {
    const std::size_t len = snap.peer_bytes(i).size();
    n += 1 + varint::encoded_size(len) + len;
  }
  return n;
}

void append_closer_peers(const RoutingSnapshot& snap, std::span<const std::uint32_t> peers,
                         Bytes& out) {
  for (std::uint32_t i : peers) {
    const BytesView p = snap.peer_bytes(i);
    out.push_back(kCloserPeersTag);
    varint::encode(p.size(), out);
    append(out, p);
  }
}

void write_find_node_answer(const RoutingSnapshot& snap, const PeerId& remote, BytesView key,
                            std::size_t k, std::vector<std::uint32_t>& scratch, Bytes& out) {
  out.clear();
  const bool self = std::ranges::equal(key, snap.local_peer_bytes());
  std::size_t peers_size = 0;
  if (self) {
    scratch.clear();
    peers_size = 1 + varint::encoded_size(snap.self_bytes().size()) + snap.self_bytes().size();
  } else {
    // go betterPeersToQuery: never the requester, never ourselves (we are
    // not in our own table).
    snap.closest(Key::from_bytes(key), k, scratch, remote.bytes());
    peers_size = closer_peers_size(snap, scratch);
  }
  const std::size_t body = 2 + peers_size;  // type tag and FIND_NODE (4)
  out.reserve(varint::encoded_size(body) + body);
  varint::encode(body, out);
  out.push_back(kTypeTag);
  out.push_back(static_cast<std::uint8_t>(pb::Message_MessageType_FIND_NODE));
  if (self) {
    out.push_back(kCloserPeersTag);
    varint::encode(snap.self_bytes().size(), out);
    append(out, snap.self_bytes());
  } else {
    append_closer_peers(snap, scratch, out);
  }
}

}  // namespace mp::kad

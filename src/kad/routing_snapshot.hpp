// An immutable, compact view of the routing table for answering FIND_NODE
// (and the closer peers of GET_VALUE / GET_PROVIDERS) without touching the
// live RoutingTable: the groundwork for handlers on several io_contexts
// (issue 13), where the table keeps one owner and readers get snapshots.
//
// Each peer is kept as its protobuf `Message.Peer` already encoded (id, the
// table's filtered addresses, the connection type when the snapshot was
// built), all in one byte buffer, so an answer is a copy of ready-made
// bytes. closest() returns the same peers, in the same order, as
// RoutingTable::closest for the table it was built from. Its memory is the
// table's peers and addresses, once.
//
// Thread safety: a RoutingSnapshot never changes once built; any number of
// threads may read one. SnapshotCell hands the current one to any thread;
// a SnapshotReader per thread keeps it until the cell changes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "kad/key.hpp"
#include "kad/protocol.hpp"
#include "kad/routing_table.hpp"

namespace mp::kad {

class RoutingSnapshot {
 public:
  using Connectedness = std::function<ConnectionType(const PeerId&)>;

  // Built by the table's owner. `local_addrs` answer a FIND_NODE for our own
  // Peer ID; `connectedness` (may be empty: NOT_CONNECTED) gives each peer's
  // Peer.connection; `changes` is the owner's change count at build time
  // (Kademlia::changes(), how readers tell a snapshot is behind).
  static std::shared_ptr<const RoutingSnapshot> build(const RoutingTable& table,
                                                      std::span<const Multiaddr> local_addrs,
                                                      const Connectedness& connectedness,
                                                      std::uint64_t changes = 0);

  // Indices of the `count` peers closest to `target`, nearest first,
  // skipping the peer whose Peer ID bytes are `exclude` (if not empty).
  // `out` is cleared and reused.
  void closest(const Key& target, std::size_t count, std::vector<std::uint32_t>& out,
               BytesView exclude = {}) const;

  std::size_t size() const { return entries_.size(); }
  const Key& key(std::uint32_t i) const { return entries_[i].key; }
  BytesView peer_id_bytes(std::uint32_t i) const;
  // The encoded Message.Peer of entry i.
  BytesView peer_bytes(std::uint32_t i) const;
  // Our own encoded Message.Peer (CONNECTED, our listen addresses).
  BytesView self_bytes() const { return as_bytes(self_); }
  BytesView local_peer_bytes() const { return as_bytes(local_id_); }
  // RoutingTable::version() at build time.
  std::uint64_t table_version() const { return table_version_; }
  std::uint64_t changes() const { return changes_; }
  // Bytes held by the snapshot (entries and encoded peers).
  std::size_t memory_bytes() const;

 private:
  struct Entry {
    Key key;
    std::uint32_t offset;  // of the encoded Peer in blob_
    std::uint32_t length;
    std::uint32_t id_offset;  // of the Peer ID bytes in blob_
    std::uint32_t id_length;
  };
  Key local_key_;
  std::string local_id_;
  std::string self_;
  std::string blob_;
  std::vector<Entry> entries_;  // by bucket, as in the table
  // Bucket b's entries are [bucket_begin_[b], bucket_begin_[b + 1]).
  std::array<std::uint32_t, RoutingTable::kBuckets + 1> bucket_begin_{};
  std::uint64_t table_version_ = 0;
  std::uint64_t changes_ = 0;
};

// The current snapshot, for any thread: the owner store()s, readers load().
// The mutex is held only for the copy of the pointer. generation() changes
// with every store(), so a reader may keep its copy until it does
// (SnapshotReader) instead of touching the shared count on every answer.
class SnapshotCell {
 public:
  std::shared_ptr<const RoutingSnapshot> load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void store(std::shared_ptr<const RoutingSnapshot> s) {
    {
      std::lock_guard lock(mutex_);
      current_.swap(s);
    }
    generation_.fetch_add(1, std::memory_order_release);
    // The old snapshot, if last, is freed here, outside the lock (by `s`).
  }
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const RoutingSnapshot> current_;
  std::atomic<std::uint64_t> generation_{0};
};

// One reader's (one thread's or one io_context's) view of a SnapshotCell:
// get() re-loads only when the cell's generation moved, so readers on
// several cores share nothing written per answer. Holds the snapshot it
// returned until the next change is seen. Not shared between threads.
class SnapshotReader {
 public:
  explicit SnapshotReader(const SnapshotCell& cell) : cell_(&cell) {}
  // The snapshot the last get() returned, without looking at the cell
  // (nothing shared is read). Null before the first get().
  const RoutingSnapshot* held() const { return held_.get(); }
  const SnapshotCell* cell() const { return cell_; }
  // Null until the cell holds a snapshot.
  const RoutingSnapshot* get() {
    const std::uint64_t g = cell_->generation();
    if (!held_ || g != seen_) {
      seen_ = g;
      held_ = cell_->load();
    }
    return held_.get();
  }

 private:
  const SnapshotCell* cell_;
  std::uint64_t seen_ = 0;
  std::shared_ptr<const RoutingSnapshot> held_;
};

// Appends `peers` as Message.closerPeers fields (field 8) to `out`.
void append_closer_peers(const RoutingSnapshot& snap, std::span<const std::uint32_t> peers,
                         Bytes& out);
// Encoded size of those fields.
std::size_t closer_peers_size(const RoutingSnapshot& snap, std::span<const std::uint32_t> peers);

// The whole FIND_NODE answer for `key` from `remote`, length-prefixed as on
// the wire, into `out` (cleared): the `k` closest peers, never `remote`;
// ourselves when `key` is our own Peer ID (go handleFindPeer). The same
// bytes as Kademlia::handle's answer serialized. `scratch` is reused.
void write_find_node_answer(const RoutingSnapshot& snap, const PeerId& remote, BytesView key,
                            std::size_t k, std::vector<std::uint32_t>& scratch, Bytes& out);

}  // namespace mp::kad

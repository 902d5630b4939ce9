// WriteQueue: the bounded, coalescing queue between the network thread and
// the peer store's writer thread. Pure data structure, no locking and no
// disk: the store wraps it in its mutex.
//
// One entry per row (peer_id, multiaddr); repeated updates of the same row
// fold into that entry instead of taking more room, so a peer that sends
// identify ten times in a batch window costs one UPSERT. An entry with an
// empty multiaddr stands for "every row of this peer" (dial failure without
// an address). The bound is on distinct entries; a new entry beyond it is
// refused (the caller counts it), an update of a queued entry always fits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace mp::storage {

// What to do to one row, after folding every update queued for it.
// Applied in this order: remove, upsert (seen), success, failures.
struct RowUpdate {
  std::string peer_id;    // base58btc
  std::string multiaddr;  // text without /p2p/; empty = every row of the peer
  bool remove = false;        // delete the row (before re-inserting if seen > 0)
  std::int64_t seen = 0;      // > 0: upsert with last_seen = seen (Unix seconds)
  bool dial_success = false;  // lift reputation back to at least the default
  std::uint32_t dial_failures = 0;  // reputation penalties to apply

  // Folds a later update of the same row into this one.
  void merge_later(const RowUpdate& later);
};

class WriteQueue {
 public:
  explicit WriteQueue(std::size_t capacity) : capacity_(capacity) {}

  // Folds `u` into the queue. Returns false when it needs a new entry and
  // the queue already holds `capacity` entries.
  bool push(RowUpdate u);
  // Takes every entry, oldest first, leaving the queue empty.
  std::vector<RowUpdate> take_all();
  // Puts back entries a failed commit took: they are older than anything
  // queued since, so later updates fold on top of them. The failed entries
  // keep their place; entries that no longer fit within the capacity are
  // dropped. Returns how many were dropped.
  std::size_t requeue(std::vector<RowUpdate> failed);

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::size_t capacity() const { return capacity_; }
  // Updates folded into an existing entry since construction.
  std::uint64_t coalesced() const { return coalesced_; }

 private:
  static std::string key_of(const RowUpdate& u);

  std::size_t capacity_;
  std::vector<RowUpdate> entries_;
  std::unordered_map<std::string, std::size_t> index_;  // key -> position in entries_
  std::uint64_t coalesced_ = 0;
};

}  // namespace mp::storage

// HolderIndex: who holds how many entries of a store (records or provider
// records), so that quotas and the eviction policy cost O(log n) and never a
// scan of the store. A "holder" is a string: a Peer ID's bytes, or a remote
// IP address as text.
//
// The caller may rely on:
//   count(h)   entries held by h, O(1)
//   largest()  the holder with the most entries and its entry that expires
//              first, O(1) (std::set ends)
//   add/remove/reorder  O(log n)
// Entries are named by the store's own EntryId; their `order` is when they
// expire, so "the oldest entry" of a holder is the one closest to expiry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "kad/config.hpp"

namespace mp::kad {

using EntryId = std::uint64_t;

class HolderIndex {
 public:
  struct Largest {
    const std::string* holder;
    std::size_t count;
    EntryId oldest;
  };

  std::size_t count(const std::string& holder) const {
    auto it = holders_.find(holder);
    return it == holders_.end() ? 0 : it->second.entries.size();
  }
  std::size_t holders() const { return holders_.size(); }

  void add(const std::string& holder, EntryId id, TimePoint order);
  void remove(const std::string& holder, EntryId id, TimePoint order);
  // The entry's expiry changed (refresh).
  void reorder(const std::string& holder, EntryId id, TimePoint from, TimePoint to);
  std::optional<Largest> largest() const;

 private:
  struct Holder {
    std::set<std::pair<TimePoint, EntryId>> entries;
  };
  using Holders = std::unordered_map<std::string, Holder>;
  // (entry count, holder): the last element is the largest holder. The
  // pointer is the holder's key inside holders_ (stable: node-based map).
  using ByCount = std::set<std::pair<std::size_t, const std::string*>>;

  Holders holders_;
  ByCount by_count_;
};

// Why a store refused a newcomer (labels of
// mepassa_kad_store_refusals_total{store, reason}).
enum class StoreRefusal : std::size_t { kPeerQuota, kIpQuota, kKeyFull, kFull, kCount };
const char* to_string(StoreRefusal r);

}  // namespace mp::kad

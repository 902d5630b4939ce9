#include "storage/write_queue.hpp"

#include <algorithm>
#include <utility>

namespace mp::storage {

void RowUpdate::merge_later(const RowUpdate& later) {
  if (later.remove) {
    // A delete erases whatever was queued before it.
    remove = true;
    seen = 0;
    dial_success = false;
    dial_failures = 0;
  }
  if (later.seen > 0) seen = std::max(seen, later.seen);
  if (later.dial_success) {
    // A success forgives failures recorded earlier in the same window.
    dial_success = true;
    dial_failures = 0;
  }
  dial_failures += later.dial_failures;
}

std::string WriteQueue::key_of(const RowUpdate& u) {
  std::string k;
  k.reserve(u.peer_id.size() + 1 + u.multiaddr.size());
  k += u.peer_id;
  k += ' ';  // cannot occur in base58 or multiaddr text
  k += u.multiaddr;
  return k;
}

bool WriteQueue::push(RowUpdate u) {
  std::string key = key_of(u);
  auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].merge_later(u);
    ++coalesced_;
    return true;
  }
  if (entries_.size() >= capacity_) return false;
  index_.emplace(std::move(key), entries_.size());
  entries_.push_back(std::move(u));
  return true;
}

std::vector<RowUpdate> WriteQueue::take_all() {
  std::vector<RowUpdate> out;
  out.swap(entries_);
  index_.clear();
  return out;
}

std::size_t WriteQueue::requeue(std::vector<RowUpdate> failed) {
  std::vector<RowUpdate> newer = take_all();
  std::size_t dropped = 0;
  for (auto& u : failed) {
    if (!push(std::move(u))) ++dropped;
  }
  for (auto& u : newer) {
    std::string key = key_of(u);
    auto it = index_.find(key);
    if (it != index_.end()) {
      entries_[it->second].merge_later(u);
    } else if (entries_.size() < capacity_) {
      index_.emplace(std::move(key), entries_.size());
      entries_.push_back(std::move(u));
    } else {
      ++dropped;
    }
  }
  return dropped;
}

}  // namespace mp::storage

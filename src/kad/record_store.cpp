#include "kad/record_store.hpp"

namespace mp::kad {

namespace {
// The by_key_ node with the key and holder strings (~280 B with glibc's
// malloc headers), the id map node (32), the expiry index node (64) and
// the two HolderIndex nodes (128).
constexpr std::size_t kEntryOverhead = 512;
}  // namespace

std::size_t RecordStore::entry_bytes(std::size_t key_size, std::size_t value_size) {
  return kEntryOverhead + key_size + value_size;
}

void RecordStore::index(const std::string& key, Entry& e) {
  keys_[e.id] = &key;
  by_expiry_.emplace(e.record.expires, e.id);
  by_peer_.add(e.peer, e.id, e.record.expires);
  by_ip_.add(e.ip, e.id, e.record.expires);
  bytes_ += e.bytes;
}

void RecordStore::unindex(Entry& e) {
  keys_.erase(e.id);
  by_expiry_.erase({e.record.expires, e.id});
  by_peer_.remove(e.peer, e.id, e.record.expires);
  by_ip_.remove(e.ip, e.id, e.record.expires);
  bytes_ -= e.bytes;
}

void RecordStore::erase(ByKey::iterator it) {
  unindex(it->second);
  by_key_.erase(it);
}

StoreOutcome RecordStore::put(BytesView key, BytesView value, TimePoint now,
                              const std::string& peer, const std::string& ip) {
  if (key.empty() || key.size() > limits_.max_key_size) return StoreOutcome::kRefusedKeySize;
  if (value.size() > limits_.max_value_size) return StoreOutcome::kRefusedValueSize;
  expire(now);
  std::string k(as_string(key));
  const std::size_t size = entry_bytes(key.size(), value.size());
  auto it = by_key_.find(k);
  if (it != by_key_.end()) {
    ++work_;
    Entry& e = it->second;
    // A replacement by another sender moves the record to its quota.
    if (e.peer != peer && by_peer_.count(peer) >= limits_.max_records_per_peer) {
      return StoreOutcome::kRefusedPeerQuota;
    }
    if (e.ip != ip && by_ip_.count(ip) >= limits_.max_records_per_ip) {
      return StoreOutcome::kRefusedIpQuota;
    }
    unindex(e);
    e.record.value.assign(value.begin(), value.end());
    e.record.stored_at = now;
    e.record.expires = now + limits_.ttl;
    e.peer = peer;
    e.ip = ip;
    e.bytes = size;
    index(it->first, e);
    return StoreOutcome::kReplaced;
  }
  if (by_peer_.count(peer) >= limits_.max_records_per_peer) return StoreOutcome::kRefusedPeerQuota;
  const std::size_t ip_count = by_ip_.count(ip);
  if (ip_count >= limits_.max_records_per_ip) return StoreOutcome::kRefusedIpQuota;
  // Make room (policy in the header). A value is at most max_value_size, so
  // a bounded number of evictions always frees enough bytes.
  for (int round = 0; round < 64; ++round) {
    if (by_key_.size() < limits_.max_records && bytes_ + size <= limits_.max_bytes) break;
    const auto largest = by_ip_.largest();
    if (!largest || largest->count < ip_count + 2) return StoreOutcome::kRefusedFull;
    ++work_;
    erase(by_key_.find(*keys_.at(largest->oldest)));
    ++evictions_;
  }
  if (by_key_.size() >= limits_.max_records || bytes_ + size > limits_.max_bytes) {
    return StoreOutcome::kRefusedFull;
  }
  auto [slot, inserted] = by_key_.try_emplace(
      std::move(k),
      Entry{next_id_++, StoredRecord{Bytes(value.begin(), value.end()), now, now + limits_.ttl},
            peer, ip, size});
  (void)inserted;
  index(slot->first, slot->second);
  return StoreOutcome::kStored;
}

const StoredRecord* RecordStore::get(BytesView key, TimePoint now) const {
  auto it = by_key_.find(std::string(as_string(key)));
  if (it == by_key_.end() || now >= it->second.record.expires) return nullptr;
  return &it->second.record;
}

bool RecordStore::remove(BytesView key) {
  auto it = by_key_.find(std::string(as_string(key)));
  if (it == by_key_.end()) return false;
  erase(it);
  return true;
}

std::size_t RecordStore::expire(TimePoint now) {
  std::size_t removed = 0;
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    ++work_;
    const std::string* key = keys_.at(by_expiry_.begin()->second);
    erase(by_key_.find(*key));
    ++removed;
  }
  return removed;
}

}  // namespace mp::kad

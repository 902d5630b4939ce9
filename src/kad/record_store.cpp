#include "kad/record_store.hpp"

namespace mp::kad {

StoreOutcome RecordStore::put(BytesView key, BytesView value, TimePoint now) {
  if (key.empty() || key.size() > limits_.max_key_size) return StoreOutcome::kRefusedKeySize;
  if (value.size() > limits_.max_value_size) return StoreOutcome::kRefusedValueSize;
  std::string k(as_string(key));
  auto it = records_.find(k);
  if (it != records_.end()) {
    it->second.value.assign(value.begin(), value.end());
    it->second.stored_at = now;
    it->second.expires = now + limits_.ttl;
    return StoreOutcome::kReplaced;
  }
  if (records_.size() >= limits_.max_records) {
    // Make room from expired records before refusing.
    expire(now);
    if (records_.size() >= limits_.max_records) return StoreOutcome::kRefusedFull;
  }
  records_.emplace(std::move(k), StoredRecord{Bytes(value.begin(), value.end()), now, now + limits_.ttl});
  return StoreOutcome::kStored;
}

const StoredRecord* RecordStore::get(BytesView key, TimePoint now) const {
  auto it = records_.find(std::string(as_string(key)));
  if (it == records_.end() || now >= it->second.expires) return nullptr;
  return &it->second;
}

bool RecordStore::remove(BytesView key) { return records_.erase(std::string(as_string(key))) > 0; }

std::size_t RecordStore::expire(TimePoint now) {
  return std::erase_if(records_, [&](const auto& kv) { return now >= kv.second.expires; });
}

}  // namespace mp::kad

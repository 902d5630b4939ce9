#include "kad/store_quota.hpp"

namespace mp::kad {

const char* to_string(StoreRefusal r) {
  switch (r) {
    case StoreRefusal::kPeerQuota:
      return "peer_quota";
    case StoreRefusal::kIpQuota:
      return "ip_quota";
    case StoreRefusal::kKeyFull:
      return "key_full";
    case StoreRefusal::kFull:
      return "full";
    case StoreRefusal::kCount:
      break;
  }
  return "unknown";
}

void HolderIndex::add(const std::string& holder, EntryId id, TimePoint order) {
  auto [it, inserted] = holders_.try_emplace(holder);
  auto& entries = it->second.entries;
  if (!inserted) by_count_.erase({entries.size(), &it->first});
  entries.emplace(order, id);
  by_count_.emplace(entries.size(), &it->first);
}

void HolderIndex::remove(const std::string& holder, EntryId id, TimePoint order) {
  auto it = holders_.find(holder);
  if (it == holders_.end()) return;
  auto& entries = it->second.entries;
  by_count_.erase({entries.size(), &it->first});
  entries.erase({order, id});
  if (entries.empty()) {
    holders_.erase(it);
  } else {
    by_count_.emplace(entries.size(), &it->first);
  }
}

void HolderIndex::reorder(const std::string& holder, EntryId id, TimePoint from, TimePoint to) {
  auto it = holders_.find(holder);
  if (it == holders_.end()) return;
  if (it->second.entries.erase({from, id}) > 0) it->second.entries.emplace(to, id);
}

std::optional<HolderIndex::Largest> HolderIndex::largest() const {
  if (by_count_.empty()) return std::nullopt;
  const auto& [count, holder] = *by_count_.rbegin();
  const auto& entries = holders_.find(*holder)->second.entries;
  return Largest{holder, count, entries.begin()->second};
}

}  // namespace mp::kad

#include "kad/provider_store.hpp"

#include <algorithm>

namespace mp::kad {

AddProviderOutcome ProviderStore::add(BytesView key, const PeerId& provider,
                                      std::vector<Multiaddr> addrs, TimePoint now) {
  if (key.empty() || key.size() > limits_.max_key_size) return AddProviderOutcome::kRefusedKeySize;
  std::string k(as_string(key));
  auto it = by_key_.find(k);
  if (it != by_key_.end()) {
    auto& list = it->second;
    const auto expired_before = list.size();
    std::erase_if(list, [&](const ProviderRecord& r) { return now >= r.expires; });
    total_ -= expired_before - list.size();
    for (auto& r : list) {
      if (r.provider == provider) {
        if (!addrs.empty()) r.addrs = std::move(addrs);
        r.expires = now + limits_.ttl;
        return AddProviderOutcome::kRefreshed;
      }
    }
    if (list.size() >= limits_.max_providers_per_key) return AddProviderOutcome::kRefusedKeyFull;
  }
  if (total_ >= limits_.max_total_providers) {
    expire(now);
    if (total_ >= limits_.max_total_providers) return AddProviderOutcome::kRefusedFull;
  }
  by_key_[std::move(k)].push_back(ProviderRecord{provider, std::move(addrs), now + limits_.ttl});
  ++total_;
  return AddProviderOutcome::kAdded;
}

void ProviderStore::get(BytesView key, TimePoint now, std::vector<const ProviderRecord*>& out) const {
  out.clear();
  auto it = by_key_.find(std::string(as_string(key)));
  if (it == by_key_.end()) return;
  for (const auto& r : it->second) {
    if (now < r.expires) out.push_back(&r);
  }
}

std::size_t ProviderStore::expire(TimePoint now) {
  std::size_t removed = 0;
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    removed += std::erase_if(it->second, [&](const ProviderRecord& r) { return now >= r.expires; });
    it = it->second.empty() ? by_key_.erase(it) : std::next(it);
  }
  total_ -= removed;
  return removed;
}

}  // namespace mp::kad

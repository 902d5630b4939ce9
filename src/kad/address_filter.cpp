#include "kad/address_filter.hpp"

#include <algorithm>

namespace mp::kad {

bool is_shareable(const Multiaddr& addr, const AddressPolicy& policy) {
  if (addr.empty()) return false;
  return policy.allow_private_addrs || !addr.is_private_or_local();
}

std::size_t filter_addresses(std::vector<Multiaddr>& addrs, const AddressPolicy& policy) {
  const std::size_t before = addrs.size();
  std::vector<Multiaddr> kept;
  kept.reserve(std::min(addrs.size(), policy.max_addrs_per_peer));
  for (auto& a : addrs) {
    if (kept.size() >= policy.max_addrs_per_peer) break;
    if (!is_shareable(a, policy)) continue;
    if (std::find(kept.begin(), kept.end(), a) != kept.end()) continue;
    kept.push_back(std::move(a));
  }
  addrs = std::move(kept);
  return before - addrs.size();
}

}  // namespace mp::kad

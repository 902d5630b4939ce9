#include "kad/provider_store.hpp"

#include <algorithm>

namespace mp::kad {

namespace {
// Per-record bookkeeping beyond the payload: the entries_ node and its
// PeerId copy, the by_key_ node, key and id vector (a key with one
// provider), the expiry index node and the two HolderIndex nodes, with
// glibc's malloc headers. Measured (EntryBytesCoverTheRealHeapCost): ~770 B
// per record of one address, all included.
constexpr std::size_t kEntryOverhead = 672;
constexpr std::size_t kAddrOverhead = sizeof(Multiaddr);
}  // namespace

std::size_t ProviderStore::entry_bytes(std::size_t key_size, const ProviderRecord& r) {
  std::size_t n = kEntryOverhead + key_size + r.provider.bytes().size();
  for (const auto& a : r.addrs) n += kAddrOverhead + a.bytes().size();
  return n;
}

AddProviderOutcome ProviderStore::add(BytesView key, const PeerId& provider,
                                      std::vector<Multiaddr> addrs, TimePoint now,
                                      const std::string& ip) {
  if (key.empty() || key.size() > limits_.max_key_size) return AddProviderOutcome::kRefusedKeySize;
  if (addrs.size() > limits_.max_addrs_per_provider) addrs.resize(limits_.max_addrs_per_provider);
  expire(now);
  std::string k(as_string(key));
  auto key_it = by_key_.find(k);
  if (key_it != by_key_.end()) {
    for (EntryId id : key_it->second) {
      ++work_;
      Entry& e = entries_.at(id);
      if (e.record.provider != provider) continue;
      // Refresh: new expiry, new addresses if any were given.
      const TimePoint expires = now + limits_.ttl;
      by_expiry_.erase({e.record.expires, id});
      by_expiry_.emplace(expires, id);
      by_peer_.reorder(as_holder(provider), id, e.record.expires, expires);
      by_ip_.reorder(e.ip, id, e.record.expires, expires);
      e.record.expires = expires;
      if (!addrs.empty()) {
        bytes_ -= e.bytes;
        e.record.addrs = std::move(addrs);
        e.bytes = entry_bytes(key.size(), e.record);
        bytes_ += e.bytes;
      }
      return AddProviderOutcome::kRefreshed;
    }
  }
  const std::string peer = as_holder(provider);
  if (by_peer_.count(peer) >= limits_.max_providers_per_peer) {
    return AddProviderOutcome::kRefusedPeerQuota;
  }
  const std::size_t ip_count = by_ip_.count(ip);
  if (ip_count >= limits_.max_providers_per_ip) return AddProviderOutcome::kRefusedIpQuota;
  if (key_it != by_key_.end() && key_it->second.size() >= limits_.max_providers_per_key &&
      !make_room_in_key(key_it->second, ip)) {
    return AddProviderOutcome::kRefusedKeyFull;
  }

  ProviderRecord record{provider, std::move(addrs), now + limits_.ttl};
  const std::size_t size = entry_bytes(key.size(), record);
  // Make room (see the policy in the header). Each eviction frees at least
  // one record; a record is at most a few hundred bytes over the smallest,
  // so a handful of evictions always suffices: the bound is defensive.
  for (int round = 0; round < 16; ++round) {
    if (entries_.size() < limits_.max_total_providers && bytes_ + size <= limits_.max_bytes) break;
    const auto largest = by_ip_.largest();
    if (!largest || largest->count < ip_count + 2) return AddProviderOutcome::kRefusedFull;
    ++work_;
    erase(largest->oldest);
    ++evictions_;
  }
  if (entries_.size() >= limits_.max_total_providers || bytes_ + size > limits_.max_bytes) {
    return AddProviderOutcome::kRefusedFull;
  }
  // The key may have been erased by an eviction: look it up again.
  auto [slot, inserted] = by_key_.try_emplace(std::move(k));
  (void)inserted;
  const EntryId id = next_id_++;
  by_expiry_.emplace(record.expires, id);
  by_peer_.add(peer, id, record.expires);
  by_ip_.add(ip, id, record.expires);
  entries_.emplace(id, Entry{std::move(record), &slot->first, ip, size});
  slot->second.push_back(id);
  bytes_ += size;
  return AddProviderOutcome::kAdded;
}

// The per-key form of the store's policy (header): among the key's <= 20
// providers, the IP with the most loses the one closest to expiry if it has
// at least two more than `ip`. O(max_providers_per_key^2), a constant.
bool ProviderStore::make_room_in_key(const std::vector<EntryId>& ids, const std::string& ip) {
  std::size_t mine = 0;
  std::size_t most = 0;
  const Entry* victim = nullptr;
  EntryId victim_id = 0;
  for (EntryId id : ids) {
    const Entry& e = entries_.at(id);
    if (e.ip == ip) ++mine;
    std::size_t same = 0;
    for (EntryId other : ids) {
      ++work_;
      if (entries_.at(other).ip == e.ip) ++same;
    }
    if (same > most || (same == most && e.record.expires < victim->record.expires)) {
      most = same;
      victim = &e;
      victim_id = id;
    }
  }
  if (!victim || most < mine + 2) return false;
  erase(victim_id);
  ++evictions_;
  return true;
}

void ProviderStore::erase(EntryId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  by_expiry_.erase({e.record.expires, id});
  by_peer_.remove(as_holder(e.record.provider), id, e.record.expires);
  by_ip_.remove(e.ip, id, e.record.expires);
  auto key_it = by_key_.find(*e.key);
  auto& ids = key_it->second;
  ids.erase(std::find(ids.begin(), ids.end(), id));
  if (ids.empty()) by_key_.erase(key_it);
  bytes_ -= e.bytes;
  entries_.erase(it);
}

void ProviderStore::get(BytesView key, TimePoint now, std::vector<const ProviderRecord*>& out) const {
  out.clear();
  auto it = by_key_.find(std::string(as_string(key)));
  if (it == by_key_.end()) return;
  for (EntryId id : it->second) {
    const Entry& e = entries_.at(id);
    if (now < e.record.expires) out.push_back(&e.record);
  }
}

std::size_t ProviderStore::expire(TimePoint now) {
  std::size_t removed = 0;
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    ++work_;
    erase(by_expiry_.begin()->second);
    ++removed;
  }
  return removed;
}

}  // namespace mp::kad

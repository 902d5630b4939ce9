// In-memory store of provider records (ADD_PROVIDER / GET_PROVIDERS): for a
// key (a multihash), which peers said they provide it and at which
// addresses. Each record expires kProviderTtl (48 h, go-libp2p-kad-dht
// ProvideValidity) after its last ADD_PROVIDER; a repeat refreshes it.
//
// Limits (defaults): 20 providers per key (rust-libp2p MemoryStore's
// K_VALUE), 65,536 provider records in all (~10 MiB). A full key refuses
// newcomers until a provider expires: we never evict a live provider on a
// stranger's word.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bytes.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "kad/config.hpp"

namespace mp::kad {

struct ProviderStoreLimits {
  std::size_t max_providers_per_key = kK;
  std::size_t max_total_providers = 65536;
  std::size_t max_key_size = 80;  // go-libp2p-kad-dht refuses longer provider keys
  Duration ttl = kProviderTtl;
};

struct ProviderRecord {
  PeerId provider;
  std::vector<Multiaddr> addrs;
  TimePoint expires;
};

enum class AddProviderOutcome { kAdded, kRefreshed, kRefusedKeySize, kRefusedKeyFull, kRefusedFull };

class ProviderStore {
 public:
  explicit ProviderStore(ProviderStoreLimits limits = {}) : limits_(limits) {}

  AddProviderOutcome add(BytesView key, const PeerId& provider, std::vector<Multiaddr> addrs,
                         TimePoint now);
  // Live providers for `key` (cleared and refilled; pointers valid until the
  // next mutation).
  void get(BytesView key, TimePoint now, std::vector<const ProviderRecord*>& out) const;
  std::size_t expire(TimePoint now);

  std::size_t keys() const { return by_key_.size(); }
  std::size_t total() const { return total_; }
  const ProviderStoreLimits& limits() const { return limits_; }

 private:
  ProviderStoreLimits limits_;
  std::unordered_map<std::string, std::vector<ProviderRecord>> by_key_;
  std::size_t total_ = 0;
};

}  // namespace mp::kad

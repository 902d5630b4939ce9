// In-memory store of provider records (ADD_PROVIDER / GET_PROVIDERS): for a
// key (a multihash), which peers said they provide it and at which
// addresses. Each record expires kProviderTtl (48 h, go-libp2p-kad-dht
// ProvideValidity) after its last ADD_PROVIDER; a repeat refreshes it.
//
// Limits (defaults): 20 providers per key (rust-libp2p MemoryStore's
// K_VALUE), 65,536 provider records and 64 MiB in all, 1,024 records per
// provider peer, 2,048 per sender IP, 8 addresses per record. Each record is
// charged its estimated heap size (bytes()) against the byte cap.
//
// Cost: add() and expire() never scan the store. Expiry is an ordered index
// (only due records are visited); quotas and eviction use HolderIndex
// (O(log n)); the only linear walk is over one key's <= 20 providers.
// work() counts entries visited, so tests can assert this.
//
// Policy when the store is full (count or bytes): the newcomer takes the
// place of the record closest to expiry of the IP that holds the most
// records, if that IP holds at least two more than the newcomer's IP would
// (so evictions always move the store towards equal shares per IP and an
// attacker cannot evict an equal or smaller holder). Otherwise the newcomer
// is refused (kRefusedFull). One IP can thus never lock out another: it is
// capped at max_providers_per_ip and is the first to lose records. A full
// key (20 live providers) applies the same rule among that key's providers
// (the IP with the most providers of the key loses its oldest one if it has
// two more than the newcomer's IP there), else refuses (kRefusedKeyFull):
// 20 peer IDs from one IP cannot lock a key.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bytes.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "kad/config.hpp"
#include "kad/store_quota.hpp"

namespace mp::kad {

struct ProviderStoreLimits {
  std::size_t max_providers_per_key = kK;
  std::size_t max_total_providers = 65536;
  std::size_t max_providers_per_peer = 1024;
  std::size_t max_providers_per_ip = 2048;
  std::size_t max_bytes = 64 * 1024 * 1024;
  std::size_t max_addrs_per_provider = 8;
  std::size_t max_key_size = 80;  // go-libp2p-kad-dht refuses longer provider keys
  Duration ttl = kProviderTtl;
};

struct ProviderRecord {
  PeerId provider;
  std::vector<Multiaddr> addrs;
  TimePoint expires;
};

enum class AddProviderOutcome {
  kAdded,
  kRefreshed,
  kRefusedKeySize,
  kRefusedKeyFull,
  kRefusedPeerQuota,
  kRefusedIpQuota,
  kRefusedFull,
};

class ProviderStore {
 public:
  explicit ProviderStore(ProviderStoreLimits limits = {}) : limits_(limits) {}

  // `ip` is the sender's remote IP (empty when unknown: all such senders
  // share one IP quota). Addresses beyond max_addrs_per_provider are dropped.
  AddProviderOutcome add(BytesView key, const PeerId& provider, std::vector<Multiaddr> addrs,
                         TimePoint now, const std::string& ip = {});
  // Live providers for `key` (cleared and refilled; pointers valid until the
  // next mutation).
  void get(BytesView key, TimePoint now, std::vector<const ProviderRecord*>& out) const;
  // Drops expired records (only those: O(expired * log n)); returns how many.
  std::size_t expire(TimePoint now);

  std::size_t keys() const { return by_key_.size(); }
  std::size_t total() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::size_t evictions() const { return evictions_; }
  std::size_t count_for_peer(const PeerId& p) const { return by_peer_.count(as_holder(p)); }
  std::size_t count_for_ip(const std::string& ip) const { return by_ip_.count(ip); }
  // Test hook: entries visited by add/get/expire since construction.
  std::uint64_t work() const { return work_; }
  const ProviderStoreLimits& limits() const { return limits_; }

  // Estimated heap bytes of one record (what the byte cap counts).
  static std::size_t entry_bytes(std::size_t key_size, const ProviderRecord& r);

 private:
  struct Entry {
    ProviderRecord record;
    const std::string* key;  // the key inside by_key_
    std::string ip;
    std::size_t bytes;
  };
  static std::string as_holder(const PeerId& p) { return std::string(as_string(p.bytes())); }
  void erase(EntryId id);
  bool make_room_in_key(const std::vector<EntryId>& ids, const std::string& ip);

  ProviderStoreLimits limits_;
  std::unordered_map<EntryId, Entry> entries_;
  std::unordered_map<std::string, std::vector<EntryId>> by_key_;  // <= max_providers_per_key each
  std::set<std::pair<TimePoint, EntryId>> by_expiry_;
  HolderIndex by_peer_;
  HolderIndex by_ip_;
  EntryId next_id_ = 0;
  std::size_t bytes_ = 0;
  std::size_t evictions_ = 0;
  std::uint64_t work_ = 0;
};

}  // namespace mp::kad

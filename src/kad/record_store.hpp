// In-memory store of DHT records (PUT_VALUE / GET_VALUE), bounded in count,
// bytes and share per sender, each record expiring kRecordTtl (36 h,
// go-libp2p-kad-dht MaxRecordAge) after it was stored. A later PUT for the
// same key replaces the value, restarts the clock and makes the sender its
// holder (for /ipns/ the caller first checks the new record is not older:
// see record_validator.hpp).
//
// Limits (defaults): 1024 records (rust-libp2p MemoryStore's default), 64
// per sender peer, 128 per sender IP, 20 MiB in all (each record charged its
// estimated heap size), 16 KiB per value (an IPNS record is at most 10 KiB;
// a /pk/ RSA-4096 key ~550 B), 256 B per key.
//
// Cost: put() and expire() never scan the store (ordered expiry index,
// HolderIndex for quotas and eviction); work() counts entries visited.
//
// Policy when the store is full (count or bytes): the newcomer replaces the
// record closest to expiry of the IP holding the most records, if that IP
// holds at least two more than the newcomer's IP; otherwise it is refused
// (kRefusedFull). So one IP, capped at max_records_per_ip, cannot lock
// another out: it is the first to lose records once the store is full.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "core/bytes.hpp"
#include "kad/config.hpp"
#include "kad/store_quota.hpp"

namespace mp::kad {

struct RecordStoreLimits {
  std::size_t max_records = 1024;
  std::size_t max_records_per_peer = 64;
  std::size_t max_records_per_ip = 128;
  std::size_t max_bytes = 20 * 1024 * 1024;
  std::size_t max_key_size = 256;
  std::size_t max_value_size = 16 * 1024;
  Duration ttl = kRecordTtl;
};

struct StoredRecord {
  Bytes value;
  TimePoint stored_at;
  TimePoint expires;
};

enum class StoreOutcome {
  kStored,
  kReplaced,
  kRefusedKeySize,
  kRefusedValueSize,
  kRefusedPeerQuota,
  kRefusedIpQuota,
  kRefusedFull,
};

class RecordStore {
 public:
  explicit RecordStore(RecordStoreLimits limits = {}) : limits_(limits) {}

  // `peer` (Peer ID bytes) and `ip` name the sender; empty when unknown (all
  // such senders share one quota).
  StoreOutcome put(BytesView key, BytesView value, TimePoint now, const std::string& peer = {},
                   const std::string& ip = {});
  // nullptr when absent or expired.
  const StoredRecord* get(BytesView key, TimePoint now) const;
  bool remove(BytesView key);
  // Drops expired records (only those); returns how many.
  std::size_t expire(TimePoint now);

  std::size_t size() const { return by_key_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::size_t evictions() const { return evictions_; }
  std::size_t count_for_peer(const std::string& peer) const { return by_peer_.count(peer); }
  std::size_t count_for_ip(const std::string& ip) const { return by_ip_.count(ip); }
  // Test hook: entries visited by put/expire since construction.
  std::uint64_t work() const { return work_; }
  const RecordStoreLimits& limits() const { return limits_; }

  static std::size_t entry_bytes(std::size_t key_size, std::size_t value_size);

 private:
  struct Entry {
    EntryId id;
    StoredRecord record;
    std::string peer;
    std::string ip;
    std::size_t bytes;
  };
  using ByKey = std::unordered_map<std::string, Entry>;
  void erase(ByKey::iterator it);
  void index(const std::string& key, Entry& e);
  void unindex(Entry& e);

  RecordStoreLimits limits_;
  ByKey by_key_;
  std::unordered_map<EntryId, const std::string*> keys_;  // id -> key inside by_key_
  std::set<std::pair<TimePoint, EntryId>> by_expiry_;
  HolderIndex by_peer_;
  HolderIndex by_ip_;
  EntryId next_id_ = 0;
  std::size_t bytes_ = 0;
  std::size_t evictions_ = 0;
  std::uint64_t work_ = 0;
};

}  // namespace mp::kad

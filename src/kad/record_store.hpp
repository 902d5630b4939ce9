// In-memory store of DHT records (PUT_VALUE / GET_VALUE), bounded in count
// and size, each record expiring kRecordTtl (36 h, go-libp2p-kad-dht
// MaxRecordAge) after it was stored. A later PUT for the same key replaces the
// value and restarts the clock (for /ipns/ the caller first checks the new
// record is not older: see record_validator.hpp).
//
// Limits (defaults): 1024 records (rust-libp2p MemoryStore's default), 16 KiB
// per value (an IPNS record is at most 10 KiB; a /pk/ RSA-4096 key ~550 B),
// 256 B per key. Worst case ~16 MiB, fixed whatever clients do.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "core/bytes.hpp"
#include "kad/config.hpp"

namespace mp::kad {

struct RecordStoreLimits {
  std::size_t max_records = 1024;
  std::size_t max_key_size = 256;
  std::size_t max_value_size = 16 * 1024;
  Duration ttl = kRecordTtl;
};

struct StoredRecord {
  Bytes value;
  TimePoint stored_at;
  TimePoint expires;
};

enum class StoreOutcome { kStored, kReplaced, kRefusedKeySize, kRefusedValueSize, kRefusedFull };

class RecordStore {
 public:
  explicit RecordStore(RecordStoreLimits limits = {}) : limits_(limits) {}

  StoreOutcome put(BytesView key, BytesView value, TimePoint now);
  // nullptr when absent or expired.
  const StoredRecord* get(BytesView key, TimePoint now) const;
  bool remove(BytesView key);
  // Drops expired records; returns how many. Call periodically (hourly is
  // enough: get() never returns an expired record anyway).
  std::size_t expire(TimePoint now);

  std::size_t size() const { return records_.size(); }
  const RecordStoreLimits& limits() const { return limits_; }

 private:
  RecordStoreLimits limits_;
  std::unordered_map<std::string, StoredRecord> records_;
};

}  // namespace mp::kad

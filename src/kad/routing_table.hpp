// The Kademlia routing table (libp2p/specs kad-dht/README.md "Kademlia
// routing table"): 256 k-buckets with k = 20, indexed by the position of the
// highest bit of XOR(sha256(local), sha256(peer)) - bucket 255 holds the
// farthest half of the key space. Buckets are allocated up front (as
// rust-libp2p kbucket does) rather than unfolded lazily; the outcome is the
// same set of peers.
//
// Kademlia's eviction rule: a full bucket never drops a peer on hearsay.
// update() answers "pending: ping X; if it fails, replace it with Y" and the
// host reports the ping's outcome with resolve_pending(). One check per
// bucket may be pending; it is forgotten (the old peer kept) after
// pending_timeout if the host never answers.
//
// Insert policy: kAll admits every identified peer, kServers only peers that
// advertise the Kademlia protocol (a peer that stops advertising it is
// removed). Peers without a shareable address are not admitted (nobody could
// dial them from our answers), nor peers over the diversity limits.
//
// Pure data structure: no I/O, the caller passes "now". Not thread-safe;
// call it from the one strand that owns the Kademlia node.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "kad/address_filter.hpp"
#include "kad/config.hpp"
#include "kad/diversity.hpp"
#include "kad/key.hpp"

namespace mp::kad {

enum class InsertPolicy { kAll, kServers };

struct PeerEntry {
  PeerId id;
  Key key;
  std::vector<Multiaddr> addrs;  // filtered by the AddressPolicy
  TimePoint last_seen{};
  std::vector<IpGroup> groups;   // counted by the DiversityFilter
};

// Ask the host to ping `ping` (the least-recently-seen entry of a full
// bucket) and report with resolve_pending(ping, alive): if it is dead,
// `candidate` takes its place.
struct PendingEviction {
  PeerId ping;
  PeerId candidate;
};

enum class UpdateOutcome {
  kInserted,             // new entry
  kUpdated,              // already present: addresses and last_seen refreshed
  kPending,              // bucket full: see UpdateResult::pending
  kBucketFull,           // bucket full and a check is already pending: dropped
  kIgnoredSelf,
  kRejectedNoAddresses,  // no shareable address
  kRejectedNotServer,    // kServers policy and the peer does not speak kad
  kRejectedDiversity,
};
const char* to_string(UpdateOutcome o);

struct UpdateResult {
  UpdateOutcome outcome;
  std::optional<PendingEviction> pending;
};

class KBucket {
 public:
  struct Pending {
    PeerId ping;          // the entry whose liveness is being checked
    PeerEntry candidate;  // takes its place if the check fails
    TimePoint since;
  };

  // Least-recently seen first, most-recently seen last.
  const std::vector<PeerEntry>& entries() const { return entries_; }
  const std::optional<Pending>& pending() const { return pending_; }
  TimePoint last_refreshed() const { return last_refreshed_; }

 private:
  friend class RoutingTable;
  std::vector<PeerEntry> entries_;
  std::optional<Pending> pending_;
  TimePoint last_refreshed_{};
};

struct RoutingTableConfig {
  std::size_t k = kK;
  InsertPolicy policy = InsertPolicy::kServers;
  AddressPolicy addresses;
  DiversityLimits diversity;
  Duration pending_timeout = std::chrono::seconds(30);
};

struct RoutingTableCounters {
  std::size_t inserted = 0;
  std::size_t evicted = 0;  // replaced after a failed liveness check
  std::size_t rejected_diversity = 0;
  std::size_t rejected_no_addresses = 0;
  std::size_t dropped_bucket_full = 0;
};

// The `count` entries closest to `target` of a table whose bucket b holds
// the keys at bucket index b from `local` (RoutingTable, RoutingSnapshot).
// Buckets fall into bands of strictly increasing distance to the target.
// With d = distance(local, target) and i its bucket index:
//   bucket i          -> distance to target < 2^i
//   buckets j < i     -> distance in [2^i, 2^(i+1))  (one band together)
//   each bucket j > i -> distance in [2^j, 2^(j+1))
// So whole bands are gathered (add_bucket(b) appends bucket b's entries to
// `out`) until `count` are held, and only those are sorted (key_of(entry)).
template <class T, class AddBucket, class KeyOf>
void closest_in_bands(const Key& local, const Key& target, std::size_t count,
                      std::size_t buckets, std::vector<T>& out, AddBucket add_bucket,
                      KeyOf key_of) {
  out.clear();
  if (count == 0) return;
  const auto i_opt = local.distance(target).bucket_index();
  std::size_t next_high = 0;
  if (i_opt) {
    const std::size_t i = *i_opt;
    add_bucket(i);
    if (out.size() < count) {
      for (std::size_t j = 0; j < i; ++j) add_bucket(j);
    }
    next_high = i + 1;
  }
  for (std::size_t j = next_high; j < buckets && out.size() < count; ++j) add_bucket(j);
  auto by_distance = [&](const T& a, const T& b) {
    return closer_to(target, key_of(a), key_of(b));
  };
  if (out.size() > count) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(count), out.end(),
                      by_distance);
    out.resize(count);
  } else {
    std::sort(out.begin(), out.end(), by_distance);
  }
}

class RoutingTable {
 public:
  static constexpr std::size_t kBuckets = kKeyBits;

  RoutingTable(PeerId local, RoutingTableConfig config, TimePoint now);

  // A peer was seen (identified, or answered us). `addrs` are its listen
  // addresses; they are filtered here. `is_server`: it advertises kad.
  UpdateResult update(const PeerId& peer, std::vector<Multiaddr> addrs, bool is_server,
                      TimePoint now);
  // The host's answer to a PendingEviction. alive: the old entry stays and
  // becomes most-recently seen; otherwise it is removed and the candidate
  // inserted. Unknown or stale answers are ignored.
  void resolve_pending(const PeerId& pinged, bool alive, TimePoint now);
  bool remove(const PeerId& peer);

  const PeerEntry* find(const PeerId& peer) const;
  bool contains(const PeerId& peer) const { return find(peer) != nullptr; }

  // The `count` known peers closest to `target`, nearest first, skipping
  // `exclude` if given. `out` is cleared and reused (no allocation once warm).
  void closest(const Key& target, std::size_t count, std::vector<const PeerEntry*>& out,
               const PeerId* exclude = nullptr) const;
  std::vector<PeerId> closest_peers(const Key& target, std::size_t count,
                                    const PeerId* exclude = nullptr) const;

  // Bucket index for `key` relative to the local key (nullopt for our own).
  std::optional<std::size_t> bucket_index(const Key& key) const {
    return local_key_.distance(key).bucket_index();
  }
  const KBucket& bucket(std::size_t index) const { return buckets_[index]; }
  void mark_refreshed(std::size_t bucket, TimePoint now) { buckets_[bucket].last_refreshed_ = now; }

  std::size_t size() const { return size_; }
  // Changes whenever the set of peers or an entry's addresses changes (not
  // on last_seen or order within a bucket, which no answer shows): a
  // RoutingSnapshot built at an equal version answers as the table does.
  std::uint64_t version() const { return version_; }
  const PeerId& local_peer() const { return local_; }
  const Key& local_key() const { return local_key_; }
  const RoutingTableConfig& config() const { return config_; }
  const DiversityFilter& diversity() const { return diversity_; }
  const RoutingTableCounters& counters() const { return counters_; }

 private:
  void expire_pending(KBucket& b, TimePoint now);
  void insert_entry(std::size_t index, PeerEntry entry);
  void erase_entry(std::size_t index, std::size_t pos);

  PeerId local_;
  Key local_key_;
  RoutingTableConfig config_;
  DiversityFilter diversity_;
  std::array<KBucket, kBuckets> buckets_;
  std::size_t size_ = 0;
  std::uint64_t version_ = 0;
  RoutingTableCounters counters_;
  mutable std::vector<const PeerEntry*> scratch_;
};

}  // namespace mp::kad

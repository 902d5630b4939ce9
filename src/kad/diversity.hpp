// Peer diversity limits for the routing table, against eclipse and Sybil
// attacks: one operator with many IDs on few networks must not fill a bucket
// or the table. Modelled on go-libp2p-kbucket peerdiversity (used by
// go-libp2p-kad-dht): every address of a peer puts it in one IP group; a
// peer is accepted only if each of its groups is under both limits, and then
// counts once in each of its groups.
//
// Groups: IPv4 /16, IPv6 /32 (go uses the IPv6 ASN when known and /32
// otherwise; we carry no ASN table). A relay (/p2p-circuit) address counts
// in the relay's group. DNS addresses are grouped by name. Private and local
// addresses are not counted (only present when allow_private_addrs is set).
//
// Limits: 3 peers per group per bucket, 10 per group in the whole table.
// go-libp2p-kad-dht's WAN DHT uses 2 and 3; we are a bootstrap node for a
// messenger whose users often sit behind the same mobile carrier or cloud
// /16, so we relax those while keeping a single /16 far below one bucket
// (k = 20) and far below the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/multiaddr.hpp"

namespace mp::kad {

struct DiversityLimits {
  bool enabled = true;
  std::size_t max_per_group_per_bucket = 3;
  std::size_t max_per_group_per_table = 10;
};

// An IP group: family tag and the prefix bits that define the group.
struct IpGroup {
  std::uint8_t family = 0;  // 4, 6, or 'd' for a DNS name (hash of the name)
  std::uint32_t prefix = 0;
  bool operator==(const IpGroup&) const = default;
};

// The distinct groups of a peer's addresses (private/local ones skipped).
std::vector<IpGroup> ip_groups(std::span<const Multiaddr> addrs);

// Counters of peers per group, per bucket and for the table. The routing
// table keeps each entry's groups and calls add/remove as entries come and go.
class DiversityFilter {
 public:
  explicit DiversityFilter(DiversityLimits limits) : limits_(limits) {}

  bool allows(std::size_t bucket, std::span<const IpGroup> groups) const;
  void add(std::size_t bucket, std::span<const IpGroup> groups);
  void remove(std::size_t bucket, std::span<const IpGroup> groups);

  std::size_t count_in_table(const IpGroup& g) const;
  std::size_t count_in_bucket(std::size_t bucket, const IpGroup& g) const;
  const DiversityLimits& limits() const { return limits_; }

 private:
  static std::uint64_t table_key(const IpGroup& g) {
    return (std::uint64_t{g.family} << 32) | g.prefix;
  }
  static std::uint64_t bucket_key(std::size_t bucket, const IpGroup& g) {
    return (std::uint64_t{bucket} << 48) ^ table_key(g);
  }

  DiversityLimits limits_;
  std::unordered_map<std::uint64_t, std::size_t> per_table_;
  std::unordered_map<std::uint64_t, std::size_t> per_bucket_;
};

}  // namespace mp::kad

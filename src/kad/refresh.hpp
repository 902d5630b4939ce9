// Routing-table refresh (libp2p/specs kad-dht/README.md "Bootstrap
// process": a self-lookup plus random lookups, every 5 minutes by default).
// Pure helpers: which buckets are stale, and a random key in a bucket to look
// up. The host runs the lookups and calls RoutingTable::mark_refreshed.
//
// Like go-libp2p-kad-dht we only refresh buckets from the farthest (255) down
// to one past the nearest non-empty bucket: nearer buckets are almost surely
// empty in any network of realistic size, and go also caps the count (at 16
// common-prefix lengths; we use the same cap by default).
#pragma once

#include <cstddef>
#include <random>
#include <vector>

#include "kad/config.hpp"
#include "kad/key.hpp"
#include "kad/routing_table.hpp"

namespace mp::kad {

struct RefreshTarget {
  std::size_t bucket;
  LookupTarget target;  // random Peer ID in that bucket, to FIND_NODE
};

// Buckets not refreshed within `interval`, farthest first, at most
// `max_buckets`, each with a random key to look up.
std::vector<RefreshTarget> stale_buckets(const RoutingTable& table, TimePoint now,
                                         std::mt19937_64& rng, Duration interval = kRefreshInterval,
                                         std::size_t max_buckets = 16);

}  // namespace mp::kad

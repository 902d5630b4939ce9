#include "kad/refresh.hpp"

namespace mp::kad {

std::vector<RefreshTarget> stale_buckets(const RoutingTable& table, TimePoint now,
                                         std::mt19937_64& rng, Duration interval,
                                         std::size_t max_buckets) {
  // Nearest non-empty bucket; with an empty table only the farthest.
  std::size_t lowest = RoutingTable::kBuckets - 1;
  for (std::size_t i = 0; i < RoutingTable::kBuckets; ++i) {
    if (!table.bucket(i).entries().empty()) {
      lowest = i;
      break;
    }
  }
  const std::size_t floor = lowest > 0 ? lowest - 1 : 0;
  std::vector<RefreshTarget> out;
  for (std::size_t i = RoutingTable::kBuckets; i-- > floor && out.size() < max_buckets;) {
    if (now - table.bucket(i).last_refreshed() >= interval) {
      if (auto t = random_peer_id_in_bucket(table.local_key(), i, rng)) {
        out.push_back({i, std::move(*t)});
      }
    }
  }
  return out;
}

}  // namespace mp::kad

#include "kad/diversity.hpp"

#include <algorithm>

namespace mp::kad {

namespace {

std::uint32_t fnv1a(const Bytes& b) {
  std::uint32_t h = 2166136261u;
  for (std::uint8_t c : b) h = (h ^ c) * 16777619u;
  return h;
}

std::uint32_t be32(const Bytes& b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

}  // namespace

std::vector<IpGroup> ip_groups(std::span<const Multiaddr> addrs) {
  std::vector<IpGroup> out;
  for (const auto& a : addrs) {
    if (a.empty() || a.is_private_or_local()) continue;
    const auto& c = a.components().front();
    IpGroup g;
    switch (c.proto) {
      case Proto::kIp4:
        if (c.value.size() != 4) continue;
        g = {4, (std::uint32_t{c.value[0]} << 8) | c.value[1]};  // /16
        break;
      case Proto::kIp6:
        if (c.value.size() != 16) continue;
        g = {6, be32(c.value)};  // /32
        break;
      case Proto::kDns:
      case Proto::kDns4:
      case Proto::kDns6:
      case Proto::kDnsaddr:
        g = {'d', fnv1a(c.value)};
        break;
      default:
        continue;
    }
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  }
  return out;
}

std::size_t DiversityFilter::count_in_table(const IpGroup& g) const {
  auto it = per_table_.find(table_key(g));
  return it == per_table_.end() ? 0 : it->second;
}

std::size_t DiversityFilter::count_in_bucket(std::size_t bucket, const IpGroup& g) const {
  auto it = per_bucket_.find(bucket_key(bucket, g));
  return it == per_bucket_.end() ? 0 : it->second;
}

bool DiversityFilter::allows(std::size_t bucket, std::span<const IpGroup> groups) const {
  if (!limits_.enabled) return true;
  for (const auto& g : groups) {
    if (count_in_bucket(bucket, g) >= limits_.max_per_group_per_bucket) return false;
    if (count_in_table(g) >= limits_.max_per_group_per_table) return false;
  }
  return true;
}

void DiversityFilter::add(std::size_t bucket, std::span<const IpGroup> groups) {
  for (const auto& g : groups) {
    ++per_table_[table_key(g)];
    ++per_bucket_[bucket_key(bucket, g)];
  }
}

void DiversityFilter::remove(std::size_t bucket, std::span<const IpGroup> groups) {
  auto dec = [](std::unordered_map<std::uint64_t, std::size_t>& m, std::uint64_t k) {
    auto it = m.find(k);
    if (it == m.end()) return;
    if (--it->second == 0) m.erase(it);
  };
  for (const auto& g : groups) {
    dec(per_table_, table_key(g));
    dec(per_bucket_, bucket_key(bucket, g));
  }
}

}  // namespace mp::kad

#include "relay/circuit_table.hpp"

namespace mp::relay {
namespace {

template <typename Map, typename Key>
std::size_t count(const Map& m, const Key& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

template <typename Map, typename Key>
void decrement(Map& m, const Key& k) {
  auto it = m.find(k);
  if (it != m.end() && --it->second == 0) m.erase(it);
}

}  // namespace

Status CircuitTable::open(const Circuit& c) {
  if (total_ >= limits_.max_circuits || count(per_peer_, c.src) >= limits_.max_circuits_per_peer ||
      count(per_peer_, c.dst) >= limits_.max_circuits_per_peer ||
      count(per_ip_, c.src_ip) >= limits_.max_circuits_per_ip) {
    return pb::RESOURCE_LIMIT_EXCEEDED;
  }
  ++total_;
  ++per_peer_[c.src];
  ++per_peer_[c.dst];
  ++per_ip_[c.src_ip];
  return pb::OK;
}

void CircuitTable::close(const Circuit& c) {
  if (total_ > 0) --total_;
  decrement(per_peer_, c.src);
  decrement(per_peer_, c.dst);
  decrement(per_ip_, c.src_ip);
}

std::size_t CircuitTable::count_for_peer(const PeerId& p) const { return count(per_peer_, p); }

}  // namespace mp::relay

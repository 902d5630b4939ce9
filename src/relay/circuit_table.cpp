#include "relay/circuit_table.hpp"

namespace mp::relay {

Status CircuitTable::open(const Circuit& c, LimitHit* hit) {
  LimitHit refused = LimitHit::kNone;
  const std::string subnet = relay_subnet(c.src_ip);
  if (total_ >= limits_.max_circuits) {
    refused = LimitHit::kTotal;
  } else if (count_in(per_peer_, c.src) >= limits_.max_circuits_per_peer ||
             count_in(per_peer_, c.dst) >= limits_.max_circuits_per_peer) {
    refused = LimitHit::kPeer;
  } else if (count_in(per_ip_, c.src_ip) >= limits_.max_circuits_per_ip) {
    refused = LimitHit::kIp;
  } else if (count_in(per_subnet_, subnet) >= limits_.max_circuits_per_subnet) {
    refused = LimitHit::kSubnet;
  }
  if (hit) *hit = refused;
  if (refused != LimitHit::kNone) return pb::RESOURCE_LIMIT_EXCEEDED;
  ++total_;
  ++per_peer_[c.src];
  ++per_peer_[c.dst];
  ++per_ip_[c.src_ip];
  ++per_subnet_[subnet];
  return pb::OK;
}

void CircuitTable::close(const Circuit& c) {
  if (total_ > 0) --total_;
  decrement_in(per_peer_, c.src);
  decrement_in(per_peer_, c.dst);
  decrement_in(per_ip_, c.src_ip);
  decrement_in(per_subnet_, relay_subnet(c.src_ip));
}

std::size_t CircuitTable::count_for_peer(const PeerId& p) const {
  return count_in(per_peer_, p);
}

}  // namespace mp::relay

// Which addresses of other peers we store and hand out.
//
// By default only addresses a peer on the internet could dial: no loopback,
// RFC 1918, CGNAT, link-local or unique-local address (Multiaddr::
// is_private_or_local) is kept. go-libp2p-kad-dht does the same
// (filterCandidates / isPubliclyRoutable) unless the requester is itself on
// the LAN; we make it an operator switch, allow_private_addrs, for test
// networks. Relay addresses (/p2p-circuit) are judged by the relay's address.
#pragma once

#include <cstddef>
#include <vector>

#include "core/multiaddr.hpp"

namespace mp::kad {

struct AddressPolicy {
  bool allow_private_addrs = false;
  // A peer advertising more is truncated (first ones win); bounds memory per
  // routing-table entry and the size of FIND_NODE answers.
  std::size_t max_addrs_per_peer = 16;
};

bool is_shareable(const Multiaddr& addr, const AddressPolicy& policy);

// Removes unshareable and duplicate addresses in place (order kept), then
// truncates to policy.max_addrs_per_peer. Returns how many were dropped.
std::size_t filter_addresses(std::vector<Multiaddr>& addrs, const AddressPolicy& policy);

}  // namespace mp::kad

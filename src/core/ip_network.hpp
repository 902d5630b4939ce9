// The network an IP address belongs to, as a key for limits that count per
// network rather than per address (one carrier-grade NAT, one hosting /24).
//
// ip_network("203.0.113.77") == "203.0.113.0/24", ip_network("2001:db8:1:2::5")
// == "2001:db8:1::/48" with the default prefixes; an IPv4-mapped IPv6 address
// counts as the IPv4 address it carries. Text that is not an IP address is
// returned unchanged (it is a network of its own).
#pragma once

#include <string>

namespace mp {

std::string ip_network(const std::string& ip, unsigned v4_prefix_bits = 24,
                       unsigned v6_prefix_bits = 48);

}  // namespace mp

// QUIC multiaddrs: /ip4|ip6/<addr>/udp/<port>/quic-v1 (libp2p/specs
// quic/README.md; the draft-29 /quic is not spoken).
#pragma once

#include <asio/ip/udp.hpp>
#include <optional>
#include <string>
#include <utility>

#include "core/multiaddr.hpp"

namespace mp::quic {

// The IP and port of a /ip4|ip6/.../udp/N/quic-v1 address (further
// components such as /p2p/ are allowed), or nullopt for anything else.
std::optional<std::pair<std::string, std::uint16_t>> quic_endpoint(const Multiaddr& ma);
inline bool is_quic(const Multiaddr& ma) { return quic_endpoint(ma).has_value(); }
Multiaddr quic_multiaddr(const std::string& ip, std::uint16_t port);
// An IPv4-mapped IPv6 address is written as the IPv4 address it is.
std::string endpoint_ip(const asio::ip::udp::endpoint& ep);
inline Multiaddr quic_multiaddr(const asio::ip::udp::endpoint& ep) {
  return quic_multiaddr(endpoint_ip(ep), ep.port());
}

}  // namespace mp::quic

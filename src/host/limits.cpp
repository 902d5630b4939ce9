#include "host/limits.hpp"

namespace mp::host {

std::optional<LimitRefusal> ConnectionLimits::admit_socket(const std::string& ip) const {
  if (sockets_ >= limits_.max_connections) return LimitRefusal::kMaxConnections;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && it->second >= limits_.max_connections_per_ip) {
    return LimitRefusal::kMaxPerIp;
  }
  return std::nullopt;
}

void ConnectionLimits::socket_opened(const std::string& ip) {
  ++sockets_;
  ++per_ip_[ip];
}

void ConnectionLimits::socket_closed(const std::string& ip) {
  if (sockets_ > 0) --sockets_;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

bool ConnectionLimits::admit_peer(const PeerId& peer) const {
  return connections_to(peer) < limits_.max_connections_per_peer;
}

void ConnectionLimits::peer_opened(const PeerId& peer) { ++per_peer_[peer]; }

void ConnectionLimits::peer_closed(const PeerId& peer) {
  auto it = per_peer_.find(peer);
  if (it != per_peer_.end() && --it->second == 0) per_peer_.erase(it);
}

std::size_t ConnectionLimits::connections_to(const PeerId& peer) const {
  auto it = per_peer_.find(peer);
  return it == per_peer_.end() ? 0 : it->second;
}

}  // namespace mp::host

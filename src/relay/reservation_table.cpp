#include "relay/reservation_table.hpp"

#include <algorithm>

namespace mp::relay {

ReservationTable::Outcome ReservationTable::reserve(const PeerId& peer, const std::string& ip,
                                                    std::uint64_t connection_id,
                                                    Clock::time_point now) {
  expire(now);
  Outcome out;
  out.expires = now + limits_.reservation_ttl;
  if (auto it = by_connection_.find(connection_id);
      it != by_connection_.end() && it->second.peer == peer) {
    it->second.expires = out.expires;
    out.renewed = true;
    return out;
  }
  std::string subnet = relay_subnet(ip);
  if (by_connection_.size() >= limits_.max_reservations) {
    out.limit = LimitHit::kTotal;
  } else if (count_for_peer(peer) >= limits_.max_reservations_per_peer) {
    out.limit = LimitHit::kPeer;
  } else if (count_for_ip(ip) >= limits_.max_reservations_per_ip) {
    out.limit = LimitHit::kIp;
  } else if (count_in(per_subnet_, subnet) >= limits_.max_reservations_per_subnet) {
    out.limit = LimitHit::kSubnet;
  }
  if (out.limit != LimitHit::kNone) {
    out.status = pb::RESERVATION_REFUSED;
    return out;
  }
  ++per_ip_[ip];
  ++per_subnet_[subnet];
  by_connection_.emplace(connection_id, Entry{peer, ip, std::move(subnet), out.expires});
  by_peer_[peer].push_back(connection_id);
  return out;
}

std::optional<std::uint64_t> ReservationTable::find(const PeerId& peer,
                                                    Clock::time_point now) const {
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return std::nullopt;
  for (auto c = it->second.rbegin(); c != it->second.rend(); ++c) {
    if (by_connection_.at(*c).expires > now) return *c;
  }
  return std::nullopt;
}

bool ReservationTable::connection_closed(std::uint64_t connection_id) {
  auto it = by_connection_.find(connection_id);
  if (it == by_connection_.end()) return false;
  erase(it);
  return true;
}

std::size_t ReservationTable::expire(Clock::time_point now) {
  std::size_t removed = 0;
  for (auto it = by_connection_.begin(); it != by_connection_.end();) {
    auto next = std::next(it);
    if (it->second.expires <= now) {
      erase(it);
      ++removed;
    }
    it = next;
  }
  return removed;
}

std::size_t ReservationTable::count_for_peer(const PeerId& peer) const {
  auto it = by_peer_.find(peer);
  return it == by_peer_.end() ? 0 : it->second.size();
}

std::size_t ReservationTable::count_for_ip(const std::string& ip) const {
  return count_in(per_ip_, ip);
}

std::size_t ReservationTable::count_for_subnet(const std::string& ip) const {
  return count_in(per_subnet_, relay_subnet(ip));
}

void ReservationTable::erase(std::unordered_map<std::uint64_t, Entry>::iterator it) {
  const std::uint64_t id = it->first;
  if (auto p = by_peer_.find(it->second.peer); p != by_peer_.end()) {
    auto& v = p->second;
    v.erase(std::remove(v.begin(), v.end(), id), v.end());
    if (v.empty()) by_peer_.erase(p);
  }
  decrement_in(per_ip_, it->second.ip);
  decrement_in(per_subnet_, it->second.subnet);
  by_connection_.erase(it);
}

}  // namespace mp::relay

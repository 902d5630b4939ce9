#include "host/handshake_table.hpp"

namespace mp::host {

HandshakeAdmission HandshakeTable::admit(const std::string& ip, Clock::time_point now,
                                         Transport transport) {
  HandshakeAdmission a;
  if (count_for(ip) >= max_per_ip_) {
    a.refused_by = Scope::kIp;
    return a;
  }
  if (entries_.size() >= max_total_) {
    // Victim: least progress, then from the IP holding the most handshakes,
    // then oldest. It must be old enough (min_age), or its IP must hold
    // more handshakes than the newcomer's: then an IP running many stalled
    // sockets loses one to an IP with few, however fast it reopens them.
    // At most max_total_ entries are scanned, and only when the table is full.
    const std::size_t mine = count_for(ip);
    auto victim = entries_.end();
    std::size_t victim_ip_count = 0;
    HandshakeStage victim_stage = HandshakeStage::kAccepted;
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const std::size_t its = count_for(it->second.ip);
      if (now - it->second.started < min_age_ && its <= mine) continue;
      const HandshakeStage stage = it->second.stage->load(std::memory_order_relaxed);
      const bool better = victim == entries_.end() || stage < victim_stage ||
                          (stage == victim_stage && its > victim_ip_count);
      if (better) {
        victim = it;
        victim_ip_count = its;
        victim_stage = stage;
      }
    }
    if (victim == entries_.end()) {
      a.refused_by = Scope::kNode;
      return a;
    }
    a.evicted = victim->first;
    a.evicted_transport = victim->second.transport;
    remove(victim->first);
  }
  a.id = next_id_++;
  a.progress = std::make_shared<std::atomic<HandshakeStage>>(HandshakeStage::kAccepted);
  entries_.emplace(a.id, Entry{ip, now, a.progress, transport});
  ++per_ip_[ip];
  return a;
}

void HandshakeTable::advance(std::uint64_t id, HandshakeStage stage) {
  auto it = entries_.find(id);
  if (it != entries_.end()) host::advance(it->second.stage, stage);
}

void HandshakeTable::remove(std::uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  auto ip = per_ip_.find(it->second.ip);
  if (ip != per_ip_.end() && --ip->second == 0) per_ip_.erase(ip);
  entries_.erase(it);
}

std::size_t HandshakeTable::count_for(const std::string& ip) const {
  auto it = per_ip_.find(ip);
  return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace mp::host

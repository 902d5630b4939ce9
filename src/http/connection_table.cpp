#include "http/connection_table.hpp"

namespace mp::http {

ConnectionTable::ConnectionTable(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

ConnectionTable::Admission ConnectionTable::admit(Id id, Clock::time_point now) {
  Admission a{Admission::Kind::kAdmitted};
  if (since_.size() >= capacity_) {
    if (idle_.empty()) return Admission{Admission::Kind::kRefused};
    a = Admission{Admission::Kind::kEvicted, idle_.begin()->second};
    remove(a.evicted);
  }
  since_.emplace(id, now);
  idle_.emplace(now, id);
  return a;
}

bool ConnectionTable::is_idle(Id id) const {
  auto it = since_.find(id);
  return it != since_.end() && idle_.contains(IdleKey{it->second, id});
}

void ConnectionTable::set_idle(Id id, Clock::time_point now) {
  auto it = since_.find(id);
  if (it == since_.end()) return;
  idle_.erase(IdleKey{it->second, id});
  it->second = now;
  idle_.emplace(now, id);
}

void ConnectionTable::set_busy(Id id) {
  auto it = since_.find(id);
  if (it == since_.end()) return;
  idle_.erase(IdleKey{it->second, id});
}

void ConnectionTable::remove(Id id) {
  auto it = since_.find(id);
  if (it == since_.end()) return;
  idle_.erase(IdleKey{it->second, id});
  since_.erase(it);
}

}  // namespace mp::http

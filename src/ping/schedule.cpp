#include "ping/schedule.hpp"

namespace mp::ping {

Schedule::Clock::duration Schedule::first_delay(std::uint64_t id) const {
  // 2^64 / golden ratio: the fractional parts of id * phi are spread evenly
  // for consecutive ids.
  const std::uint64_t h = id * 0x9E3779B97F4A7C15ULL;
  const double fraction = static_cast<double>(h >> 11) * 0x1p-53;  // [0, 1)
  const auto half = interval_ / 2;
  return half +
         Clock::duration(static_cast<Clock::rep>(static_cast<double>(half.count()) * fraction));
}

void Schedule::add(std::uint64_t id, TimePoint now) {
  auto [it, inserted] = entries_.try_emplace(id);
  if (!inserted) return;
  it->second.due = now + first_delay(id);
  waiting_.emplace(it->second.due, id);
}

void Schedule::remove(std::uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (!it->second.in_flight) waiting_.erase({it->second.due, id});
  entries_.erase(it);
}

std::optional<Schedule::TimePoint> Schedule::next_due() const {
  if (waiting_.empty()) return std::nullopt;
  return waiting_.begin()->first;
}

std::vector<std::uint64_t> Schedule::take_due(TimePoint now) {
  std::vector<std::uint64_t> due;
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    const auto id = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    entries_.at(id).in_flight = true;
    due.push_back(id);
  }
  return due;
}

Schedule::Next Schedule::finish(std::uint64_t id, Result result, TimePoint now) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return Next::stop;
  Entry& e = it->second;
  if (!e.in_flight) return Next::wait;  // not taken: already waiting
  switch (result) {
    case Result::ok:
      e.failures = 0;
      break;
    case Result::not_supported:
      entries_.erase(it);
      return Next::stop;
    case Result::failed:
      if (++e.failures >= kMaxFailures) {
        entries_.erase(it);
        return Next::close;
      }
      break;
  }
  e.in_flight = false;
  e.due = now + interval_;
  waiting_.emplace(e.due, id);
  return Next::wait;
}

}  // namespace mp::ping

// ping::Schedule: when each connection of a host is due for its next ping,
// with no I/O. ping::Service keeps one Schedule and one timer for all its
// connections, so an idle connection costs an entry here, not a suspended
// coroutine and a timer of its own.
//
// A connection is waiting (due at a time) or in flight (taken by take_due,
// its ping running). Its first ping falls between half an interval and one
// interval after it is added, spread by its id, so that connections set up
// together (a burst of reconnects after a restart) are not pinged together;
// after each ping it is due one interval after that ping ended. Three failed
// pings in a row say close; a remote without the protocol is dropped.
//
// Cost: O(log n) per add, remove, take and finish; about 120 bytes per
// connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mp::ping {

class Schedule {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  static constexpr int kMaxFailures = 3;

  enum class Result { ok, failed, not_supported };
  enum class Next {
    wait,   // due again one interval from now
    close,  // kMaxFailures failed pings in a row: close the connection
    stop,   // no longer followed (not supported, or removed meanwhile)
  };

  explicit Schedule(Clock::duration interval) : interval_(interval) {}

  // Starts following `id` (a no-op if it is already followed).
  void add(std::uint64_t id, TimePoint now);
  // Stops following `id`, waiting or in flight.
  void remove(std::uint64_t id);

  // The earliest due time among waiting connections, if any.
  std::optional<TimePoint> next_due() const;
  // Every waiting connection due at or before `now`, earliest first, now
  // in flight.
  std::vector<std::uint64_t> take_due(TimePoint now);
  // The ping of in-flight `id` ended at `now` with `result`.
  Next finish(std::uint64_t id, Result result, TimePoint now);

  bool contains(std::uint64_t id) const { return entries_.count(id) != 0; }
  std::size_t size() const { return entries_.size(); }
  std::size_t waiting() const { return waiting_.size(); }

  // Where in [interval/2, interval) the first ping of `id` falls after it is
  // added: consecutive ids land far apart (Fibonacci hashing).
  Clock::duration first_delay(std::uint64_t id) const;

 private:
  struct Entry {
    TimePoint due{};  // meaningful while waiting
    std::uint8_t failures = 0;
    bool in_flight = false;
  };

  Clock::duration interval_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::set<std::pair<TimePoint, std::uint64_t>> waiting_;
};

}  // namespace mp::ping

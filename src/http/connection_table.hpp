// Which HTTP connection gives way when the operator endpoint is full.
//
// The table holds every open connection of the HTTP server, each either
// idle (waiting for the first byte of its next request: freshly accepted, or
// kept alive after a response) or busy (reading a request, or writing a
// response). At capacity a new connection takes the place of the connection
// that has been idle longest; if none is idle, the new connection is refused.
// Idle connections cost the attacker nothing to hold, so they are the ones to
// give up; busy ones are bounded by the request and write deadlines instead.
//
// Pure bookkeeping: no sockets, no clock reads (callers pass `now`).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <utility>

namespace mp::http {

class ConnectionTable {
 public:
  using Id = std::uint64_t;
  using Clock = std::chrono::steady_clock;

  // `capacity` of at least 1.
  explicit ConnectionTable(std::size_t capacity);

  struct Admission {
    enum class Kind {
      kAdmitted,  // added, there was room
      kEvicted,   // added in place of `evicted`, which the caller must close
      kRefused,   // not added: full and nobody idle
    };
    Kind kind;
    Id evicted = 0;
  };

  // Decides for a newly accepted connection `id` (not yet in the table) and
  // applies the decision: an admitted connection starts idle at `now`; an
  // evicted one is no longer in the table.
  Admission admit(Id id, Clock::time_point now);

  // State changes of a connection in the table (unknown ids are ignored, so
  // a connection closed after its eviction may still report itself).
  void set_idle(Id id, Clock::time_point now);
  void set_busy(Id id);
  void remove(Id id);

  bool contains(Id id) const { return since_.contains(id); }
  bool is_idle(Id id) const;
  std::size_t size() const { return since_.size(); }
  std::size_t idle_count() const { return idle_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  using IdleKey = std::pair<Clock::time_point, Id>;  // oldest first; id breaks ties

  std::size_t capacity_;
  // Every connection; the value is its idle-since time when idle.
  std::unordered_map<Id, Clock::time_point> since_;
  std::set<IdleKey> idle_;
};

}  // namespace mp::http

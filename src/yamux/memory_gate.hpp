// MemoryGate: what a Session asks before it holds bytes a peer made it hold
// (received data a stream has not read yet, answers queued for a remote that
// does not read). The host implements it over its ResourceBudget; a session
// without a gate holds what the windows and queue limits allow.
#pragma once

#include <cstddef>

namespace mp::yamux {

class MemoryGate {
 public:
  virtual ~MemoryGate() = default;
  // Reserves `n` more bytes for a stream that already holds `stream_held`;
  // false (nothing reserved) when a limit would be passed.
  virtual bool reserve(std::size_t stream_held, std::size_t n) = 0;
  // Gives back bytes reserved earlier.
  virtual void release(std::size_t n) = 0;
};

}  // namespace mp::yamux

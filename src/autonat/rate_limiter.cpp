#include "autonat/rate_limiter.hpp"

namespace mp::autonat {

bool RateLimiter::allow(const PeerId& peer, Clock::time_point now) {
  if (!started_ || now - window_start_ >= limits_.window) {
    started_ = true;
    window_start_ = now;
    total_ = 0;
    per_peer_.clear();
  }
  if (total_ >= limits_.global) return false;
  auto& n = per_peer_[peer];
  if (n >= limits_.per_peer) return false;
  ++n;
  ++total_;
  return true;
}

}  // namespace mp::autonat

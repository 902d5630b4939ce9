// RateLimiter: how many AutoNAT dial-back requests we serve, per peer and in
// total, in a fixed window (go-libp2p's defaults: 3 per peer and 30 in total
// per minute). Pure state with time passed in; its memory is bounded by the
// global limit (only accepted requests create entries).
#pragma once

#include <chrono>
#include <cstddef>
#include <unordered_map>

#include "core/peer_id.hpp"

namespace mp::autonat {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    std::size_t per_peer = 3;
    std::size_t global = 30;
    Clock::duration window = std::chrono::minutes(1);
  };

  explicit RateLimiter(Limits limits) : limits_(limits) {}

  // True (and counted) if `peer` may have one more dial-back now.
  bool allow(const PeerId& peer, Clock::time_point now);

 private:
  Limits limits_;
  Clock::time_point window_start_{};
  bool started_ = false;
  std::size_t total_ = 0;
  std::unordered_map<PeerId, std::size_t> per_peer_;
};

}  // namespace mp::autonat

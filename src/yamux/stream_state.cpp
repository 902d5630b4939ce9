#include "yamux/stream_state.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace mp::yamux {

const char* to_string(StreamPhase p) {
  switch (p) {
    case StreamPhase::syn_sent: return "syn_sent";
    case StreamPhase::syn_received: return "syn_received";
    case StreamPhase::established: return "established";
    case StreamPhase::half_closed_local: return "half_closed_local";
    case StreamPhase::half_closed_remote: return "half_closed_remote";
    case StreamPhase::closed: return "closed";
    case StreamPhase::reset: return "reset";
  }
  return "?";
}

StreamState::StreamState(bool outbound, std::uint32_t recv_window)
    : outbound_(outbound),
      recv_window_(std::max(recv_window, kInitialWindow)),
      recv_remaining_(recv_window_),
      initial_extra_(recv_window_ - kInitialWindow) {}

std::uint16_t StreamState::take_open_flags() {
  if (open_flags_sent_) return 0;
  open_flags_sent_ = true;
  return outbound_ ? flags::syn : flags::ack;
}

std::uint32_t StreamState::take_initial_window_extra() { return std::exchange(initial_extra_, 0); }

DataVerdict StreamState::on_data(std::uint32_t length) {
  if (reset_) return DataVerdict::after_reset;
  if (length > recv_remaining_) return DataVerdict::window_exceeded;
  if (remote_fin_ && length > 0) return DataVerdict::after_fin;
  recv_remaining_ -= length;
  return DataVerdict::ok;
}

Status StreamState::on_window_update(std::uint32_t delta) {
  if (delta > std::numeric_limits<std::uint32_t>::max() - send_window_) {
    return make_error("yamux: window update overflows the send window");
  }
  send_window_ += delta;
  return {};
}

void StreamState::on_ack() { acked_ = true; }

void StreamState::on_remote_fin() { remote_fin_ = true; }

std::uint32_t StreamState::on_consumed(std::uint32_t n) {
  unannounced_ += n;
  // Once the remote has finished or the stream is reset no more data comes:
  // no credit to give back.
  if (remote_fin_ || reset_) return 0;
  if (unannounced_ < recv_window_ / 2) return 0;
  const std::uint32_t delta = unannounced_;
  unannounced_ = 0;
  recv_remaining_ += delta;
  return delta;
}

void StreamState::on_data_sent(std::uint32_t n) { send_window_ -= std::min(n, send_window_); }

void StreamState::on_fin_sent() { local_fin_ = true; }

void StreamState::on_reset() { reset_ = true; }

StreamPhase StreamState::phase() const {
  if (reset_) return StreamPhase::reset;
  if (local_fin_ && remote_fin_) return StreamPhase::closed;
  if (local_fin_) return StreamPhase::half_closed_local;
  if (remote_fin_) return StreamPhase::half_closed_remote;
  if (outbound_ && !acked_) return StreamPhase::syn_sent;
  if (!outbound_ && !open_flags_sent_) return StreamPhase::syn_received;
  return StreamPhase::established;
}

Status RemoteStreamIds::on_syn(std::uint32_t id) {
  if (id == 0) return make_error("yamux: SYN on stream id 0");
  if ((id % 2) != (next_ % 2)) {
    return make_error("yamux: SYN on stream " + std::to_string(id) + " has the wrong parity");
  }
  if (id >= next_) {
    // Remember the ids skipped just below `id`, at most kMaxGaps of them.
    const std::uint64_t span_start = id >= 2 * kMaxGaps ? id - 2 * kMaxGaps : id % 2;
    for (std::uint64_t g = std::max<std::uint64_t>(next_, span_start); g < id; g += 2) {
      gaps_.push_back(static_cast<std::uint32_t>(g));
    }
    if (gaps_.size() > kMaxGaps) {
      gaps_.erase(gaps_.begin(), gaps_.end() - static_cast<std::ptrdiff_t>(kMaxGaps));
    }
    next_ = std::uint64_t{id} + 2;
    return {};
  }
  const auto it = std::lower_bound(gaps_.begin(), gaps_.end(), id);
  if (it != gaps_.end() && *it == id) {
    gaps_.erase(it);
    return {};
  }
  return make_error("yamux: SYN reuses stream id " + std::to_string(id));
}

}  // namespace mp::yamux

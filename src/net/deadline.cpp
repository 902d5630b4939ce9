#include "net/deadline.hpp"

#include <cassert>

namespace mp::net {

Deadline::Deadline(const asio::any_io_executor& ex, std::chrono::steady_clock::duration after,
                   std::shared_ptr<ByteStream> stream)
    : timer_(ex), stream_(std::move(stream)) {
  arm(std::chrono::steady_clock::now() + after);
}

Deadline::~Deadline() {
  disarm();
}

void Deadline::restart(std::chrono::steady_clock::time_point at) {
  if (fired()) return;  // the stream is reset already
  disarm();
  arm(at);
}

void Deadline::arm(std::chrono::steady_clock::time_point at) {
  assert((stream_->deadline_epoch_ & 1u) == 0 && "one Deadline per stream at a time");
  epoch_ = ++stream_->deadline_epoch_;  // odd while armed
  timer_.expires_at(at);
  timer_.async_wait([stream = stream_, epoch = epoch_](std::error_code ec) {
    if (ec || stream->deadline_epoch_ != epoch) return;  // disarmed, even if it expired
    ++stream->deadline_epoch_;  // disarmed by firing: fired() sees the change
    stream->reset();
  });
}

void Deadline::disarm() {
  if (stream_->deadline_epoch_ == epoch_) ++stream_->deadline_epoch_;
  timer_.cancel();
}

}  // namespace mp::net

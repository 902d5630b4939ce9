#include "net/deadline_stream.hpp"

namespace mp::net {

DeadlineStream::DeadlineStream(asio::any_io_executor ex, std::shared_ptr<ByteStream> inner,
                               std::chrono::milliseconds write_deadline,
                               std::function<void()> on_expiry)
    : inner_(std::move(inner)),
      timer_(std::make_shared<asio::steady_timer>(ex)),
      deadline_(write_deadline),
      on_expiry_(std::make_shared<std::function<void()>>(std::move(on_expiry))),
      generation_(std::make_shared<std::uint64_t>(0)) {}

DeadlineStream::~DeadlineStream() {
  timer_->cancel();
}

asio::awaitable<void> DeadlineStream::write(BytesView data) {
  timer_->expires_after(deadline_);
  // The handler holds the inner stream weakly: a stream gone already
  // needs no reset.
  std::weak_ptr<ByteStream> weak = inner_;
  const std::uint64_t gen = ++*generation_;
  timer_->async_wait(
      [weak, on_expiry = on_expiry_, generation = generation_, gen](std::error_code ec) {
        // A write that completed after the timer fired but before this ran wins.
        if (ec || *generation != gen) return;
        if (auto s = weak.lock()) {
          s->reset();
          if (*on_expiry) (*on_expiry)();
        }
      });
  try {
    co_await inner_->write(data);
  } catch (...) {
    ++*generation_;
    timer_->cancel();
    throw;
  }
  ++*generation_;
  timer_->cancel();
}

}  // namespace mp::net

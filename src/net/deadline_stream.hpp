// DeadlineStream: a ByteStream whose writes must complete within a deadline.
// A write still waiting when it passes (the remote grants no flow-control
// credit, or does not read) resets the inner stream, which fails the write
// and releases what the stream held, and calls on_expiry once (counting).
// Reads are not timed: a stream that waits for a request holds only what
// its window lets the remote send, and idle connections are closed above.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "net/byte_stream.hpp"

namespace mp::net {

class DeadlineStream final : public ByteStream {
 public:
  DeadlineStream(asio::any_io_executor ex, std::shared_ptr<ByteStream> inner,
                 std::chrono::milliseconds write_deadline, std::function<void()> on_expiry = {});
  ~DeadlineStream() override;

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override {
    co_return co_await inner_->read_some(buf);
  }
  asio::awaitable<void> write(BytesView data) override;
  asio::awaitable<void> close_write() override { co_await inner_->close_write(); }
  void reset() override { inner_->reset(); }

 private:
  std::shared_ptr<ByteStream> inner_;
  std::shared_ptr<asio::steady_timer> timer_;
  std::chrono::milliseconds deadline_;
  std::shared_ptr<std::function<void()>> on_expiry_;
  std::shared_ptr<std::uint64_t> generation_;  // which write the pending timer belongs to
};

}  // namespace mp::net

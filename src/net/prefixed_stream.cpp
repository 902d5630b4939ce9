#include "net/prefixed_stream.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <cstring>

namespace mp::net {

namespace {
asio::awaitable<void> ready_now() {
  co_return;
}
}  // namespace

// Not coroutines: once drained, the caller awaits the inner stream's own
// operation (its frame holds `buf`, taken by value), and this layer adds
// no frame to the chain.
asio::awaitable<std::size_t> PrefixedStream::read_some(std::span<std::uint8_t> buf) {
  if (!drained()) return read_prefix(buf);
  return inner_->read_some(buf);
}

asio::awaitable<void> PrefixedStream::wait_readable() {
  if (!drained() || inner_ready_ == nullptr) return ready_now();
  return inner_ready_->wait_readable();
}

void PrefixedStream::on_readable(const asio::any_io_executor& ex, ReadableHandler done) {
  if (!drained() || inner_ready_ == nullptr) {
    asio::post(ex, [done = std::move(done)] { done(nullptr); });
    return;
  }
  inner_ready_->on_readable(ex, std::move(done));
}

asio::awaitable<std::size_t> PrefixedStream::read_prefix(std::span<std::uint8_t> buf) {
  const std::size_t n = std::min(buf.size(), prefix_.size() - pos_);
  std::memcpy(buf.data(), prefix_.data() + pos_, n);
  pos_ += n;
  if (pos_ == prefix_.size()) Bytes().swap(prefix_), pos_ = 0;
  co_return n;
}

}  // namespace mp::net

#include "noise/noise_stream.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>


namespace mp::noise {

NoiseStream::NoiseStream(std::unique_ptr<net::ByteStream> inner, HandshakeResult handshake,
                         FrameReader reader)
    : inner_(std::move(inner)),
      inner_ready_(dynamic_cast<net::WaitReadable*>(inner_.get())),
      send_(std::move(handshake.send)),
      recv_(std::move(handshake.recv)),
      remote_(std::move(handshake.remote)),
      reader_(std::move(reader)) {}

asio::awaitable<std::size_t> NoiseStream::read_some(std::span<std::uint8_t> buf) {
  if (buf.empty()) co_return 0;
  if (read_failed_) throw net::ProtocolError(Errc::channel_failed, "noise: channel failed earlier");
  while (plain_.empty()) {
    if (inner_ready_ != nullptr && reader_.buffered() == 0) {
      // Nothing buffered: wait without holding a buffer.
      reader_.release_if_empty();
      co_await inner_ready_->wait_readable();
    }
    std::optional<std::span<std::uint8_t>> frame = co_await reader_.next(*inner_);
    if (!frame) co_return 0;
    // Decrypted in place: the plaintext stays in the reader's buffer until it
    // is consumed, which happens before the reader is asked for more.
    Result<std::size_t> n = recv_.decrypt_with_ad({}, *frame, *frame);
    if (!n) {
      read_failed_ = true;
      throw net::ProtocolError(Errc::decrypt_failed, n.message());
    }
    plain_ = frame->first(*n);  // empty frames are legal: loop for the next one
  }
  const std::size_t n = std::min(buf.size(), plain_.size());
  std::memcpy(buf.data(), plain_.data(), n);
  plain_ = plain_.subspan(n);
  co_return n;
}

namespace {
asio::awaitable<void> ready_now() {
  co_return;
}
}  // namespace

// Not a coroutine when it waits on the raw stream: no frame of this layer
// in the chain of an idle connection.
asio::awaitable<void> NoiseStream::wait_readable() {
  if (!plain_.empty() || reader_.buffered() > 0 || inner_ready_ == nullptr || read_failed_) {
    return ready_now();
  }
  reader_.release_if_empty();
  return inner_ready_->wait_readable();
}

void NoiseStream::on_readable(const asio::any_io_executor& ex, ReadableHandler done) {
  if (!plain_.empty() || reader_.buffered() > 0 || inner_ready_ == nullptr || read_failed_) {
    asio::post(ex, [done = std::move(done)] { done(nullptr); });
    return;
  }
  reader_.release_if_empty();
  inner_ready_->on_readable(ex, std::move(done));
}

asio::awaitable<void> NoiseStream::acquire_write() {
  while (writing_) {
    if (!write_turn_) {
      write_turn_.emplace(co_await asio::this_coro::executor,
                          asio::steady_timer::time_point::max());
    }
    std::error_code ec;  // operation_aborted is the wake-up signal
    co_await write_turn_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  writing_ = true;
}

void NoiseStream::release_write() {
  writing_ = false;
  if (write_turn_) write_turn_->cancel();  // wakes every waiter; one wins, the rest wait again
}

namespace {
// Releases the write turn however the write ends (including exceptions).
template <typename F>
struct ScopeExit {
  F f;
  ~ScopeExit() { f(); }
};
template <typename F>
ScopeExit(F) -> ScopeExit<F>;
}  // namespace

asio::awaitable<void> NoiseStream::write(BytesView data) {
  co_await acquire_write();
  ScopeExit release{[this] { release_write(); }};
  Bytes frame;  // one encrypted frame at a time, reused within this call
  while (!data.empty()) {
    const std::size_t chunk = std::min(data.size(), kMaxFramePlaintext);
    frame.clear();  // keeps its capacity
    if (Status st = encrypt_frame(send_, data.first(chunk), frame); !st) {
      throw net::ProtocolError(Errc::encrypt_failed, st.message());
    }
    co_await inner_->write(frame);
    data = data.subspan(chunk);
  }
}

asio::awaitable<void> NoiseStream::close_write() {
  co_await acquire_write();
  ScopeExit release{[this] { release_write(); }};
  co_await inner_->close_write();
}

void NoiseStream::reset() {
  inner_->reset();
}

asio::awaitable<std::unique_ptr<NoiseStream>> run_handshake(std::unique_ptr<net::ByteStream> inner,
                                                            Handshake handshake) {
  FrameReader reader;
  Bytes out;
  Status st;
  BytesView in;
  while (!handshake.is_complete()) {
    if (handshake.is_my_turn()) {
      out.assign(kFrameHeaderLen, 0);
      st = handshake.write_message(out);
      if (!st) throw net::ProtocolError(handshake.error_code(), st.message());
      put_frame_header(out.data(), out.size() - kFrameHeaderLen);
      co_await inner->write(out);
    } else {
      std::optional<std::span<std::uint8_t>> msg = co_await reader.next(*inner);
      if (!msg) {
        throw net::ProtocolError(Errc::closed_during_handshake,
                                 "noise: connection closed during the handshake");
      }
      in = *msg;
      st = handshake.read_message(in);
      if (!st) throw net::ProtocolError(handshake.error_code(), st.message());
    }
  }
  Result<HandshakeResult> result = std::move(handshake).finish();
  if (!result) throw net::ProtocolError(Errc::handshake_failed, result.message());
  co_return std::make_unique<NoiseStream>(std::move(inner), std::move(*result), std::move(reader));
}

asio::awaitable<std::unique_ptr<NoiseStream>> secure_outbound(
    std::unique_ptr<net::ByteStream> inner, const LocalIdentity& local,
    std::optional<PeerId> expected) {
  co_return co_await run_handshake(std::move(inner),
                                   Handshake::initiator(local, std::move(expected)));
}

asio::awaitable<std::unique_ptr<NoiseStream>> secure_inbound(std::unique_ptr<net::ByteStream> inner,
                                                             const LocalIdentity& local) {
  co_return co_await run_handshake(std::move(inner), Handshake::responder(local));
}

}  // namespace mp::noise

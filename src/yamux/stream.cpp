#include "yamux/stream.hpp"

#include <algorithm>
#include <system_error>

#include "yamux/session.hpp"

namespace mp::yamux {

Stream::Stream(std::shared_ptr<Session> session, std::uint32_t id, bool outbound,
               std::uint32_t recv_window)
    : session_(std::move(session)),
      id_(id),
      state_(outbound, recv_window) {}

Stream::~Stream() {
  release_reserved(reserved_);
  session_->on_stream_destroyed(*this);
}

void Stream::release_reserved(std::size_t n) {
  n = std::min(n, reserved_);
  if (n == 0) return;
  reserved_ -= n;
  if (session_->cfg_.memory) session_->cfg_.memory->release(n);
}

void Stream::drop_for_memory() {
  state_.on_reset();
  reset_by_remote_ = false;  // reads throw at once: the data is gone
  recv_.clear();
  recv_head_ = 0;
  Bytes().swap(recv_);
  release_reserved(reserved_);
  readable_.notify();
  writable_.notify();
}

asio::awaitable<std::size_t> Stream::read_some(std::span<std::uint8_t> buf) {
  for (;;) {
    if (state_.is_reset() && !reset_by_remote_) throw std::system_error(Errc::stream_reset);
    if (const std::size_t avail = buffered(); avail > 0) {
      if (buf.empty()) co_return 0;
      const std::size_t n = std::min(avail, buf.size());
      std::copy_n(recv_.begin() + static_cast<std::ptrdiff_t>(recv_head_), n, buf.begin());
      recv_head_ += n;
      release_reserved(n);
      if (recv_head_ == recv_.size()) {
        recv_.clear();
        recv_head_ = 0;
        if (recv_.capacity() > 64 * 1024) Bytes().swap(recv_);
      }
      // Give credit back only for what the application consumed: this is
      // what bounds the unread data per stream.
      const std::uint32_t delta = state_.on_consumed(static_cast<std::uint32_t>(n));
      if (delta > 0 && !session_closed_ && !state_.is_reset()) {
        session_->send_window_update(*this, delta);
      }
      co_return n;
    }
    if (state_.is_reset()) throw std::system_error(Errc::stream_reset);
    if (session_closed_) throw std::system_error(Errc::session_closed);
    if (state_.remote_fin()) co_return 0;
    co_await readable_.wait();
  }
}

void Stream::check_writable() const {
  if (state_.is_reset()) throw std::system_error(Errc::stream_reset);
  if (session_closed_) throw std::system_error(Errc::session_closed);
  if (state_.local_fin()) throw std::system_error(Errc::stream_closed);
}

asio::awaitable<void> Stream::write(BytesView data) {
  // Hold the session: its queue_space_ notifier must outlive our wait.
  const std::shared_ptr<Session> session = session_;
  std::size_t off = 0;
  while (off < data.size()) {
    check_writable();
    if (state_.send_window() == 0) {
      co_await writable_.wait();
      continue;
    }
    if (!session->queue_has_room()) {
      co_await session->queue_space_.wait();
      continue;
    }
    const std::size_t n = std::min<std::size_t>(
        {data.size() - off, state_.send_window(), session->cfg_.max_send_frame});
    if (session->cfg_.memory) {
      // An answer queued for a remote that does not read is memory it
      // makes us hold: when the gate refuses, this stream is reset.
      if (!session->cfg_.memory->reserve(0, n)) {
        session->reset_for_memory(*this);
        throw std::system_error(Errc::stream_reset);
      }
      session->pending_reserved_ += n;
    }
    session->send_data(*this, data.subspan(off, n));
    state_.on_data_sent(static_cast<std::uint32_t>(n));
    off += n;
  }
  check_writable();  // an empty write on a dead stream fails too
}

asio::awaitable<void> Stream::close_write() {
  if (state_.local_fin()) co_return;
  if (state_.is_reset()) throw std::system_error(Errc::stream_reset);
  if (session_closed_) throw std::system_error(Errc::session_closed);
  session_->send_fin(*this);
  state_.on_fin_sent();
  writable_.notify();
  if (state_.finished()) session_->forget(*this);
}

void Stream::reset() {
  if (state_.is_reset()) return;
  // Nobody will read what was buffered.
  recv_.clear();
  recv_head_ = 0;
  release_reserved(reserved_);
  if (!session_closed_ && !state_.finished()) session_->send_rst(*this);
  state_.on_reset();
  readable_.notify();
  writable_.notify();
  session_->forget(*this);
}

void Stream::deliver(BytesView payload) {
  if (recv_head_ > 0 && recv_head_ >= recv_.size() / 2) {
    // Compact before growing; the buffer never exceeds the receive window.
    recv_.erase(recv_.begin(), recv_.begin() + static_cast<std::ptrdiff_t>(recv_head_));
    recv_head_ = 0;
  }
  recv_.insert(recv_.end(), payload.begin(), payload.end());
  readable_.notify();
}

void Stream::on_remote_fin() {
  state_.on_remote_fin();
  readable_.notify();
}

void Stream::on_remote_reset() {
  state_.on_reset();
  reset_by_remote_ = true;
  readable_.notify();
  writable_.notify();
}

void Stream::on_session_closed() {
  session_closed_ = true;
  readable_.notify();
  writable_.notify();
}

}  // namespace mp::yamux

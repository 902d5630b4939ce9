#include "quic/quic_stream.hpp"

#include <cstring>

#include "quic/quic_connection.hpp"

namespace mp::quic {

QuicStream::~QuicStream() {
  release_all();
}

host::ConnectionAccount* QuicStream::account() const {
  auto c = conn_.lock();
  return c ? c->account() : nullptr;
}

void QuicStream::release_all() {
  auto* a = account();
  if (a) a->release(recv_reserved_ + send_reserved_);
  recv_reserved_ = 0;
  send_reserved_ = 0;
  withheld_ = 0;
}

void QuicStream::consumed(std::size_t n) {
  auto c = conn_.lock();
  if (!c) return;
  auto* a = c->account();
  if (!a) {
    // Before the connection is registered (no account yet): credit as read.
    c->stream_consumed(id_, n);
    return;
  }
  // Bytes past the initial window came in on credit reserved for them.
  const std::uint64_t before = read_total_;
  read_total_ += n;
  if (read_total_ > kStreamWindow) {
    const std::uint64_t beyond = read_total_ - std::max<std::uint64_t>(before, kStreamWindow);
    const std::size_t r = std::min<std::size_t>(recv_reserved_, static_cast<std::size_t>(beyond));
    a->release(r);
    recv_reserved_ -= r;
  }
  withheld_ += n;
  grant_withheld();
}

void QuicStream::grant_withheld() {
  auto c = conn_.lock();
  auto* a = c ? c->account() : nullptr;
  if (!a || local_reset_ || peer_reset_ || closed_) return;
  std::size_t want = withheld_;
  while (want > 0) {
    if (!a->reserve(recv_reserved_, want)) {
      recv_reserved_ += want;
      granted_ += want;
      withheld_ -= want;
      c->stream_consumed(id_, want);
      want = withheld_;  // the rest, if a piece was refused before
      continue;
    }
    if (want <= kMinGrant) break;
    want /= 2;
  }
}

void QuicStream::on_data(BytesView data, bool fin) {
  if (recv_pos_ == recv_.size()) {
    recv_.clear();
    recv_pos_ = 0;
  }
  recv_.insert(recv_.end(), data.begin(), data.end());
  received_total_ += data.size();
  if (fin) fin_received_ = true;
  notifier_.notify();
}

void QuicStream::on_acked(std::size_t n) {
  // ngtcp2 reports the acknowledged prefix in order.
  n = std::min(n, sent_);
  if (auto* a = account(); a && send_reserved_ > 0) {
    const std::size_t r = std::min(n, send_reserved_);
    a->release(r);
    send_reserved_ -= r;
  }
  send_.erase(send_.begin(), send_.begin() + static_cast<std::ptrdiff_t>(n));
  sent_ -= n;
  notifier_.notify();
}

void QuicStream::on_sent(std::size_t n, bool fin) {
  sent_ += n;
  if (fin) fin_sent_ = true;
}

asio::awaitable<std::size_t> QuicStream::read_some(std::span<std::uint8_t> buf) {
  for (;;) {
    if (local_reset_ || peer_reset_) throw std::system_error(asio::error::connection_reset);
    if (recv_pos_ < recv_.size()) {
      const std::size_t n = std::min(buf.size(), recv_.size() - recv_pos_);
      std::memcpy(buf.data(), recv_.data() + recv_pos_, n);
      recv_pos_ += n;
      if (recv_pos_ == recv_.size()) {
        recv_.clear();
        recv_pos_ = 0;
      }
      consumed(n);
      co_return n;
    }
    if (fin_received_) co_return 0;
    if (closed_) throw std::system_error(asio::error::connection_reset);
    if (withheld_ > 0) {
      grant_withheld();
      // Everything read, and no credit left the peer could send on: the
      // budget will not let this stream progress.
      if (withheld_ > 0 && received_total_ >= kStreamWindow + granted_) {
        reset();
        throw std::system_error(asio::error::connection_reset);
      }
    }
    co_await notifier_.wait();
  }
}

asio::awaitable<void> QuicStream::write(BytesView data) {
  if (local_reset_ || peer_reset_ || write_stopped_ || closed_ || fin_pending_)
    throw std::system_error(asio::error::connection_reset);
  if (auto* a = account(); a && !data.empty()) {
    // Bytes queued for a peer that does not acknowledge them are memory it
    // makes us hold: a refusal resets this stream.
    if (a->reserve(data.size())) {
      reset();
      throw std::system_error(asio::error::connection_reset);
    }
    send_reserved_ += data.size();
  }
  send_.insert(send_.end(), data.begin(), data.end());
  if (auto c = conn_.lock()) c->schedule_flush();
  // Backpressure: wait for acknowledgements while too much is outstanding.
  while (send_.size() > kMaxUnacked) {
    co_await notifier_.wait();
    if (local_reset_ || peer_reset_ || write_stopped_ || closed_)
      throw std::system_error(asio::error::connection_reset);
  }
}

asio::awaitable<void> QuicStream::close_write() {
  if (fin_pending_ || closed_ || local_reset_) co_return;
  fin_pending_ = true;
  if (auto c = conn_.lock()) c->schedule_flush();
  co_return;
}

void QuicStream::reset() {
  if (local_reset_) return;
  local_reset_ = true;
  if (!closed_) {
    if (auto c = conn_.lock()) c->shutdown_stream(id_);
  }
  notifier_.notify();
}

}  // namespace mp::quic

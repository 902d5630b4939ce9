#include "quic/quic_stream.hpp"

#include <cstring>

#include "quic/quic_connection.hpp"

namespace mp::quic {

void QuicStream::on_data(BytesView data, bool fin) {
  if (recv_pos_ == recv_.size()) {
    recv_.clear();
    recv_pos_ = 0;
  }
  recv_.insert(recv_.end(), data.begin(), data.end());
  if (fin) fin_received_ = true;
  notifier_.notify();
}

void QuicStream::on_acked(std::size_t n) {
  // ngtcp2 reports the acknowledged prefix in order.
  n = std::min(n, sent_);
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
      if (auto c = conn_.lock()) c->stream_consumed(id_, n);
      co_return n;
    }
    if (fin_received_) co_return 0;
    if (closed_) throw std::system_error(asio::error::connection_reset);
    co_await notifier_.wait();
  }
}

asio::awaitable<void> QuicStream::write(BytesView data) {
  if (local_reset_ || peer_reset_ || write_stopped_ || closed_ || fin_pending_)
    throw std::system_error(asio::error::connection_reset);
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

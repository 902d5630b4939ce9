// Stream: one yamux stream, a net::ByteStream like any other, so
// multistream-select and protocol handlers run on it unchanged.
//
//  - read_some waits for data; returns 0 once the remote sent FIN and all
//    data was read; throws std::system_error (yamux::Errc) after a RST or
//    when the session ends (data already received is returned first).
//  - write waits for send window and room in the session's write queue
//    (backpressure, nothing is buffered without bound) and splits the bytes
//    into DATA frames no larger than the window or Config::max_send_frame.
//  - close_write sends FIN; reset sends RST. Dropping the last reference to
//    a stream before close_write resets it; after close_write it is only
//    forgotten (whatever the remote still sends is ignored).
// All calls on the session's io_context thread; keep the Stream alive while
// an operation on it is pending.
#pragma once

#include <cstdint>
#include <memory>

#include "core/bytes.hpp"
#include "net/byte_stream.hpp"
#include "yamux/notifier.hpp"
#include "yamux/stream_state.hpp"

namespace mp::yamux {

class Session;

class Stream final : public net::ByteStream {
 public:
  ~Stream() override;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override;
  asio::awaitable<void> write(BytesView data) override;
  asio::awaitable<void> close_write() override;
  void reset() override;

  std::uint32_t id() const { return id_; }
  bool is_outbound() const { return state_.outbound(); }
  StreamPhase phase() const { return state_.phase(); }
  // Received bytes not read yet (bounded by the receive window).
  std::size_t buffered() const { return recv_.size() - recv_head_; }

 private:
  friend class Session;
  Stream(std::shared_ptr<Session> session, std::uint32_t id, bool outbound,
         std::uint32_t recv_window);

  // Called by the session's reader.
  void deliver(BytesView payload);
  void on_remote_fin();
  void on_remote_reset();
  void on_session_closed();
  // Reset locally because the session's MemoryGate refused our bytes:
  // drops the unread buffer (and its reservation); reads and writes throw.
  void drop_for_memory();
  void release_reserved(std::size_t n);
  // Throws if writing is no longer possible.
  void check_writable() const;

  std::shared_ptr<Session> session_;
  std::uint32_t id_;
  StreamState state_;
  bool reset_by_remote_ = false;
  bool session_closed_ = false;
  Bytes recv_;  // received, unread: recv_[recv_head_..]
  std::size_t recv_head_ = 0;
  std::size_t reserved_ = 0;  // of recv_, reserved from the session's MemoryGate
  Notifier readable_;
  Notifier writable_;
};

}  // namespace mp::yamux

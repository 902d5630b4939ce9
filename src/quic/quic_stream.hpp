// QuicStream: one bidirectional QUIC stream as a net::ByteStream (one per
// libp2p stream; multistream-select runs on it above, in the host).
// Received bytes wait here until read; the QUIC flow-control credit is
// given back as they are read, so the stream window bounds what a peer can
// make us buffer. Written bytes stay until the peer acknowledges them
// (ngtcp2 may retransmit from them); write() waits while more than
// kMaxUnacked are outstanding.
//
// Memory budget (host::ResourceBudget, through the connection's account):
// the initial stream window (kStreamWindow) is the only credit a stream
// gets unreserved; every credit granted beyond it is reserved first (and
// released as the bytes it admitted are read, or when the stream ends).
// When the budget refuses, the credit is withheld: the peer is held by flow
// control, not buffered for. A stream that cannot get any credit back once
// it has read everything is reset (it could never progress). Written bytes
// are reserved until acknowledged; a refusal resets the stream.
#pragma once

#include <asio/any_io_executor.hpp>
#include <memory>

#include "host/resource_budget.hpp"
#include "net/byte_stream.hpp"
#include "yamux/notifier.hpp"

namespace mp::quic {

class QuicConnection;

class QuicStream final : public net::ByteStream {
 public:
  static constexpr std::size_t kMaxUnacked = 64 * 1024;

  QuicStream(std::weak_ptr<QuicConnection> conn, std::int64_t id)
      : conn_(std::move(conn)), id_(id) {}
  ~QuicStream() override;

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override;
  asio::awaitable<void> write(BytesView data) override;
  asio::awaitable<void> close_write() override;
  void reset() override;

  std::int64_t id() const { return id_; }

 private:
  friend class QuicConnection;
  // Called by the connection (from its ngtcp2 callbacks).
  void on_data(BytesView data, bool fin);
  void on_acked(std::size_t n);
  void on_peer_reset() { peer_reset_ = true, notifier_.notify(); }
  void on_stop_sending() { write_stopped_ = true, notifier_.notify(); }
  void on_closed() {
    closed_ = true;
    release_all();
    notifier_.notify();
  }
  // What the connection still has to hand to ngtcp2.
  bool has_unsent() const { return sent_ < send_.size() || (fin_pending_ && !fin_sent_); }
  BytesView unsent() const { return BytesView(send_).subspan(sent_); }
  void on_sent(std::size_t n, bool fin);
  // The connection's budget account, or nullptr (not registered yet, or gone).
  host::ConnectionAccount* account() const;
  // `n` bytes were read: releases what they held and grants credit for
  // them (and any withheld), as far as the budget allows.
  void consumed(std::size_t n);
  // Gives withheld credit back to the peer, in halving pieces down to
  // kMinGrant, while the budget admits them.
  void grant_withheld();
  void release_all();

  yamux::Notifier notifier_;
  std::weak_ptr<QuicConnection> conn_;
  std::int64_t id_;
  Bytes recv_;
  std::size_t recv_pos_ = 0;
  Bytes send_;            // from the first unacknowledged byte
  std::size_t sent_ = 0;  // bytes of send_ already handed to ngtcp2
  bool fin_received_ = false;
  bool fin_pending_ = false;
  bool fin_sent_ = false;
  bool peer_reset_ = false;
  bool write_stopped_ = false;
  bool local_reset_ = false;
  bool closed_ = false;
  // Budget: bytes reserved for receive credit beyond the initial window
  // (granted, not yet read), for written bytes not yet acknowledged, and
  // credit withheld because the budget refused it.
  std::uint64_t read_total_ = 0;
  std::uint64_t received_total_ = 0;
  std::uint64_t granted_ = 0;  // credit granted beyond the initial window
  std::size_t recv_reserved_ = 0;
  std::size_t send_reserved_ = 0;
  std::size_t withheld_ = 0;
  static constexpr std::size_t kMinGrant = 1024;
};

}  // namespace mp::quic

// Per-stream flow control and lifecycle, with no I/O: the Session feeds it
// what arrived and asks it what to send, so every rule here is tested with
// plain function calls.
//
// Flow control (libp2p/specs yamux/README.md, "Flow Control"): both sides
// start with a 256 KiB window per stream and count DATA payload bytes only.
//  - Receive side: the remote may send at most recv_window_remaining() more
//    bytes; a DATA frame above that is a protocol error. We give credit back
//    (WINDOW_UPDATE) only as the application consumes data, once the
//    consumed-but-unannounced part reaches half the window (as go-yamux and
//    rust-yamux do). So unread data of a stream never exceeds the window:
//    that is the backpressure on the remote.
//  - Send side: writes consume send_window(); WINDOW_UPDATE replenishes it.
//
// Lifecycle: SYN on the first frame of a stream we open, ACK on the first
// frame we send on a stream we accepted (spec, "ACK backlog": do not
// acknowledge before the application answers), FIN half-closes one
// direction, RST ends both.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.hpp"
#include "yamux/frame.hpp"

namespace mp::yamux {

enum class StreamPhase {
  syn_sent,            // we opened it; no ACK yet
  syn_received,        // the remote opened it; we have not sent our ACK yet
  established,
  half_closed_local,   // we sent FIN
  half_closed_remote,  // the remote sent FIN
  closed,              // both sent FIN
  reset,               // RST sent or received
};

const char* to_string(StreamPhase p);

enum class DataVerdict {
  ok,
  window_exceeded,  // protocol error: the session must end
  after_fin,        // the remote sent data after its FIN: reset the stream
  after_reset,      // ignore (a frame in flight when we reset)
};

class StreamState {
 public:
  // recv_window: the window we grant per stream, >= kInitialWindow. The part
  // above kInitialWindow is announced with our first frame.
  StreamState(bool outbound, std::uint32_t recv_window = kInitialWindow);

  // --- what our next frame must carry ---
  // SYN (outbound) or ACK (inbound) the first time it is called, then 0.
  std::uint16_t take_open_flags();
  // The window above the spec's 256 KiB that we have not announced yet;
  // returns it once.
  std::uint32_t take_initial_window_extra();

  // --- receiving ---
  // Accounts a DATA frame of `length` payload bytes.
  DataVerdict on_data(std::uint32_t length);
  // A WINDOW_UPDATE's delta; an error if the send window would pass 2^32-1.
  Status on_window_update(std::uint32_t delta);
  void on_ack();
  void on_remote_fin();
  // The application consumed n received bytes. Returns the WINDOW_UPDATE
  // delta to send now, or 0 while less than half the window is consumed.
  std::uint32_t on_consumed(std::uint32_t n);

  // --- sending ---
  std::uint32_t send_window() const { return send_window_; }
  // Precondition: n <= send_window().
  void on_data_sent(std::uint32_t n);
  void on_fin_sent();
  // RST sent or received.
  void on_reset();

  StreamPhase phase() const;
  bool outbound() const { return outbound_; }
  // Outbound and no ACK received (counts toward the spec's ACK backlog).
  bool awaiting_ack() const { return outbound_ && !acked_; }
  bool can_send() const { return !reset_ && !local_fin_; }
  bool remote_fin() const { return remote_fin_; }
  bool local_fin() const { return local_fin_; }
  bool is_reset() const { return reset_; }
  // Nothing more will be sent or received: the session forgets the stream.
  bool finished() const { return reset_ || (local_fin_ && remote_fin_); }
  std::uint32_t recv_window() const { return recv_window_; }
  std::uint32_t recv_window_remaining() const { return recv_remaining_; }

 private:
  bool outbound_;
  bool open_flags_sent_ = false;
  bool acked_ = false;  // outbound: the remote's ACK arrived
  bool local_fin_ = false;
  bool remote_fin_ = false;
  bool reset_ = false;
  std::uint32_t recv_window_;
  std::uint32_t recv_remaining_;     // credit the remote still has
  std::uint32_t unannounced_ = 0;    // consumed, not yet given back
  std::uint32_t initial_extra_;      // recv_window_ - kInitialWindow, until sent
  std::uint32_t send_window_ = kInitialWindow;
};

// Stream ids the remote opens: the right parity (client odd, server even),
// never 0, never one used before on this session. Ids normally increase, but
// a peer that opens streams from several threads (go-yamux) may put SYNs on
// the wire slightly out of order, so the last kMaxGaps skipped ids stay
// acceptable. Memory is bounded by kMaxGaps.
class RemoteStreamIds {
 public:
  static constexpr std::size_t kMaxGaps = 64;

  explicit RemoteStreamIds(bool remote_is_client) : next_(remote_is_client ? 1 : 2) {}

  // A SYN for `id` arrived. An error (protocol violation) for a wrong
  // parity, id 0 or a reused id.
  Status on_syn(std::uint32_t id);

 private:
  std::uint64_t next_;                // lowest id never seen
  std::vector<std::uint32_t> gaps_;   // skipped ids below next_, ascending
};

}  // namespace mp::yamux

// Session: the yamux multiplexer over one secured connection
// (libp2p/specs yamux/README.md, protocol id "/yamux/1.0.0").
//
// Runs as coroutines on one io_context thread: a reader that parses frames
// and routes them to streams, a writer that drains one bounded write queue
// (frames of all streams, coalesced into one write to the connection, which
// means fewer Noise frames), and an optional keepalive pinger. Neither the
// reader nor the writer exists while the session is idle: the reader parks
// the connection with a callback between frames (net::WaitReadable::
// on_readable) and the writer ends when the queue is empty; bytes arriving,
// or a frame queued, start them again. An idle session is this object, its
// connection and one pending socket wait.
//
// What callers may rely on:
//  - The client (dialer) opens odd stream ids, the server even ones.
//  - Inbound streams beyond Config::max_streams, or after our GoAway, are
//    refused with RST and counted; they never reach on_inbound.
//  - Any protocol violation by the remote (bad header, oversized frame,
//    DATA beyond the receive window, reused or wrong-parity stream id) sends
//    GoAway(protocol error) and ends the session.
//  - When the session ends, for whatever reason, every pending stream
//    operation throws, the close handler runs exactly once (posted, never
//    from inside a caller's function), and all coroutines finish shortly
//    after (at most Config::close_timeout when the remote stops reading).
//  - With Config::memory set, received bytes a stream has not read and DATA
//    queued for the remote are reserved from it; when a reservation fails
//    the stream whose bytes would pass the limit is reset (RST sent, its
//    buffer released), never the session, and counted.
//  - PINGs are answered; a GoAway from the remote stops new streams and lets
//    existing ones finish (an error code ends the session).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/bytes.hpp"
#include "net/byte_stream.hpp"
#include "net/wait_readable.hpp"
#include "yamux/error.hpp"
#include "yamux/frame.hpp"
#include "yamux/memory_gate.hpp"
#include "yamux/notifier.hpp"
#include "yamux/stream.hpp"
#include "yamux/stream_state.hpp"

namespace mp::yamux {

struct Config {
  // Inbound streams open at once; more are refused with RST. Also caps the
  // streams we open ourselves.
  std::size_t max_streams = 256;
  // Receive window we grant per stream (>= the spec's 256 KiB; the part
  // above is announced with the stream's first frame).
  std::uint32_t initial_window = kInitialWindow;
  // Largest DATA frame accepted; larger is a protocol error.
  std::uint32_t max_frame = kInitialWindow;
  // Our DATA frames carry at most this many bytes (smaller frames let
  // streams interleave fairly).
  std::uint32_t max_send_frame = 16 * 1024;
  // Queued outgoing bytes above which stream writers wait.
  std::size_t write_queue_limit = 256 * 1024;
  // Extra room for control frames (window updates, ping answers, RST);
  // beyond limit + reserve the remote is not reading and the session ends.
  std::size_t control_queue_reserve = 64 * 1024;
  // Spec "ACK backlog": outbound streams not yet acknowledged; open_stream
  // waits beyond this.
  std::size_t max_ack_backlog = 256;
  // Bytes read from the connection at a time. When the connection is a
  // net::WaitReadable (Noise over TCP) the buffer is freed whenever all it
  // read is parsed, and taken again once the connection is readable: an
  // idle session holds none. Otherwise it is held for the session's life.
  std::size_t read_buffer_size = 8 * 1024;
  // Send a PING this often; one unanswered for a whole interval ends the
  // session. Zero disables.
  std::chrono::milliseconds keepalive_interval{0};
  // After close(), how long to wait for the final flush and the remote's
  // EOF before resetting the connection.
  std::chrono::milliseconds close_timeout{5000};
  // Memory accounting for buffered received data and queued DATA frames;
  // none when null.
  std::shared_ptr<MemoryGate> memory;
};

struct Counters {
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bytes_in = 0;  // connection bytes
  std::uint64_t bytes_out = 0;
  std::uint64_t streams_inbound = 0;
  std::uint64_t streams_outbound = 0;
  std::uint64_t streams_refused = 0;        // inbound SYN refused with RST
  std::uint64_t frames_unknown_stream = 0;  // for streams already gone: ignored
  std::uint64_t pings_answered = 0;
  std::uint64_t streams_reset_memory = 0;  // reset because the MemoryGate refused
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using InboundHandler = std::function<void(std::shared_ptr<Stream>)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  // is_client: we dialed the connection (odd stream ids).
  static std::shared_ptr<Session> create(asio::any_io_executor ex,
                                         std::unique_ptr<net::ByteStream> conn, bool is_client,
                                         Config config = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs when the session ends, with a reason for the log. Set before start().
  void set_close_handler(CloseHandler handler) { on_close_ = std::move(handler); }
  // Spawns the coroutines. on_inbound receives each accepted stream; a
  // stream it drops is reset.
  void start(InboundHandler on_inbound);
  // Bytes written before any frame, in the same write as the first frames
  // queued when the session starts (the multistream answer that chose
  // Yamux: multistream::Answer::kReturn). Call before start().
  void write_first(Bytes raw);

  // Opens a stream (sends SYN at once). Throws std::system_error(Errc) when
  // the session is closed or going away, or too many streams are open.
  asio::awaitable<std::shared_ptr<Stream>> open_stream();

  // GoAway(normal): refuse new streams, let open ones finish, then close.
  // Any other code: send it and close now.
  void go_away(GoAwayCode code = GoAwayCode::normal);
  // Sends GoAway(normal) and ends the session; open streams fail.
  void close();

  bool is_closed() const { return closed_; }
  const std::string& close_reason() const { return close_reason_; }
  // stream_count(), last_remote_activity() and streams_refused() may be
  // read from any thread (the host's owner thread sweeps idle connections
  // that live on other threads): relaxed atomics the session's thread
  // stores, so a reader sees a recent value, not one consistent snapshot.
  std::size_t stream_count() const { return stream_count_.load(std::memory_order_relaxed); }
  // Last frame in or out on any stream (pings excluded, so keepalive does
  // not hide idleness): with stream_count() the host's idle timeout.
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
  // Last DATA or WINDOW_UPDATE frame the remote sent on a stream it opened:
  // a remote that holds streams but sends nothing on them (not even window
  // credit for our answers) is idle, whatever we send it or it answers on
  // streams we opened (our pings).
  std::chrono::steady_clock::time_point last_remote_activity() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_remote_activity_.load(std::memory_order_relaxed)));
  }
  // Inbound SYNs refused so far (counters().streams_refused, from any thread).
  std::uint64_t streams_refused() const { return streams_refused_.load(std::memory_order_relaxed); }
  std::optional<GoAwayCode> remote_go_away() const { return remote_go_away_; }
  bool is_client() const { return is_client_; }
  const Counters& counters() const { return counters_; }
  const Config& config() const { return cfg_; }
  // Whether the read buffer is held now (for tests of the idle release).
  bool holds_read_buffer() const { return rbuf_ != nullptr; }

 private:
  friend class Stream;

  Session(asio::any_io_executor ex, std::unique_ptr<net::ByteStream> conn, bool is_client,
          Config config);

  // Reads frames until the session ends. Between frames, with nothing
  // buffered, it parks the connection (net::WaitReadable::on_readable) and
  // returns; the callback starts it again with `woken` set and the wait's
  // error, if any.
  asio::awaitable<void> read_loop(std::shared_ptr<Session> self, bool woken,
                                  std::exception_ptr wait_error);
  // Writes what is queued and returns once the queue is empty (after the
  // final half-close once closed); wake_writer starts it when a frame is
  // queued and none runs.
  asio::awaitable<void> write_loop(std::shared_ptr<Session> self);
  void wake_writer();
  asio::awaitable<void> keepalive_loop(std::shared_ptr<Session> self);
  // Ensures `n` unparsed bytes are buffered; false on EOF.
  asio::awaitable<bool> fill(std::size_t n);
  void take_read_buffer();
  asio::awaitable<void> handle_data(const FrameHeader& h);
  void handle_window_update(const FrameHeader& h);
  void handle_ping(const FrameHeader& h);
  void handle_go_away(const FrameHeader& h);
  // A SYN arrived: the new stream, or nullptr if refused (RST sent).
  std::shared_ptr<Stream> accept_inbound(std::uint32_t id);
  void apply_remote_flags(Stream& s, std::uint16_t fl);
  Stream* find(std::uint32_t id);

  // Write queue.
  bool queue_has_room() const { return pending_.size() < cfg_.write_queue_limit; }
  void enqueue_control(const FrameHeader& h);
  void send_data(Stream& s, BytesView payload);
  void send_window_update(Stream& s, std::uint32_t delta);
  void send_fin(Stream& s);
  void send_rst(Stream& s);
  // The MemoryGate refused bytes for `s`: RST it and drop what it buffered.
  void reset_for_memory(Stream& s);
  void release_queued(std::size_t n);

  // The stream will send and receive nothing more: forget it.
  void forget(Stream& s);
  void on_stream_destroyed(Stream& s);
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }
  // The remote acted on a stream it opened (see last_remote_activity()).
  void touch_remote() {
    last_remote_activity_.store(last_activity_.time_since_epoch().count(),
                                std::memory_order_relaxed);
  }
  // Publishes streams_.size() for stream_count(); after every change to it.
  void publish_stream_count() { stream_count_.store(streams_.size(), std::memory_order_relaxed); }

  // Ends the session once: fails every stream, optionally queues a GoAway,
  // and either flushes the queue (flush) or resets the connection now.
  void shutdown(std::string reason, std::optional<GoAwayCode> send_code, bool flush);
  void maybe_finish();

  asio::any_io_executor ex_;
  std::unique_ptr<net::ByteStream> conn_;
  bool is_client_;
  Config cfg_;
  Counters counters_;

  std::unordered_map<std::uint32_t, Stream*> streams_;  // owned by the application
  RemoteStreamIds remote_ids_;
  std::uint64_t next_id_;
  std::size_t inbound_open_ = 0;
  std::size_t outbound_open_ = 0;
  std::size_t unacked_outbound_ = 0;

  Bytes pending_;                     // encoded frames waiting for the writer
  Bytes writing_;                     // what the writer is writing now
  std::size_t pending_reserved_ = 0;  // of pending_, reserved from cfg_.memory
  std::size_t writing_reserved_ = 0;  // of writing_, reserved from cfg_.memory
  net::WaitReadable* conn_ready_;     // conn_ as a WaitReadable, or null
  // Connection bytes: rbuf_[rpos_..rend_) unparsed; cfg_.read_buffer_size
  // long, or null while idle (see Config::read_buffer_size).
  std::unique_ptr<std::uint8_t[]> rbuf_;
  std::size_t rpos_ = 0;
  std::size_t rend_ = 0;
  Notifier queue_space_;
  Notifier ack_backlog_;
  // One timer per session: the keepalive interval while open, the linger
  // (Config::close_timeout) once closing; the keepalive loop ends when the
  // session closes, before the linger uses it.
  asio::steady_timer timer_;

  bool started_ = false;
  bool closed_ = false;
  bool flush_on_close_ = false;
  bool local_go_away_ = false;
  bool reader_done_ = false;
  bool writer_done_ = false;
  bool writer_running_ = false;
  bool ping_in_flight_ = false;
  std::uint32_t ping_id_ = 0;
  std::optional<GoAwayCode> remote_go_away_;
  std::string close_reason_;
  InboundHandler on_inbound_;
  CloseHandler on_close_;
  std::chrono::steady_clock::time_point last_activity_;
  // Written only by the session's thread (plain stores, no read-modify-
  // write); read from any thread.
  std::atomic<std::chrono::steady_clock::rep> last_remote_activity_;
  std::atomic<std::size_t> stream_count_{0};
  std::atomic<std::uint64_t> streams_refused_{0};
};

}  // namespace mp::yamux

// The Yamux session: creation, opening streams, the reader (frame
// handling) and the lifecycle. The coalescing writer and the keepalive are
// in session_writer.cpp.
#include "yamux/session.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <exception>
#include <system_error>
#include <utility>

namespace mp::yamux {

namespace {

std::string code_name(std::uint32_t code) {
  switch (code) {
    case 0:
      return "normal";
    case 1:
      return "protocol error";
    case 2:
      return "internal error";
  }
  return "code " + std::to_string(code);
}

}  // namespace

std::shared_ptr<Session> Session::create(asio::any_io_executor ex,
                                         std::unique_ptr<net::ByteStream> conn, bool is_client,
                                         Config config) {
  return std::shared_ptr<Session>(new Session(std::move(ex), std::move(conn), is_client, config));
}

Session::Session(asio::any_io_executor ex, std::unique_ptr<net::ByteStream> conn, bool is_client,
                 Config config)
    : ex_(std::move(ex)),
      conn_(std::move(conn)),
      is_client_(is_client),
      cfg_(config),
      remote_ids_(/*remote_is_client=*/!is_client),
      next_id_(is_client ? 1 : 2),
      timer_(ex_),
      last_activity_(std::chrono::steady_clock::now()),
      last_remote_activity_(last_activity_.time_since_epoch().count()) {
  cfg_.initial_window = std::max(cfg_.initial_window, kInitialWindow);
  cfg_.max_send_frame = std::max<std::uint32_t>(cfg_.max_send_frame, 1);
  cfg_.read_buffer_size = std::max<std::size_t>(cfg_.read_buffer_size, kHeaderSize);
  // A data write may overshoot the queue limit by one frame; control frames
  // must still fit after that.
  cfg_.control_queue_reserve =
      std::max<std::size_t>(cfg_.control_queue_reserve, cfg_.max_send_frame + 4 * kHeaderSize);
  conn_ready_ = dynamic_cast<net::WaitReadable*>(conn_.get());
  if (conn_ready_ == nullptr) take_read_buffer();
}

void Session::take_read_buffer() {
  // Not zero-filled: only [rpos_, rend_) is ever read.
  if (!rbuf_) rbuf_.reset(new std::uint8_t[cfg_.read_buffer_size]);
}

Session::~Session() {
  release_queued(pending_reserved_ + writing_reserved_);
}

void Session::release_queued(std::size_t n) {
  if (n > 0 && cfg_.memory) cfg_.memory->release(n);
}

void Session::start(InboundHandler on_inbound) {
  if (started_) return;
  started_ = true;
  if (closed_) return;
  on_inbound_ = std::move(on_inbound);
  asio::co_spawn(ex_, read_loop(shared_from_this(), false, nullptr), asio::detached);
  if (!pending_.empty()) wake_writer();
  if (cfg_.keepalive_interval.count() > 0) {
    asio::co_spawn(ex_, keepalive_loop(shared_from_this()), asio::detached);
  }
}

void Session::write_first(Bytes raw) {
  if (started_ || raw.empty()) return;
  raw.insert(raw.end(), pending_.begin(), pending_.end());
  pending_ = std::move(raw);
}

asio::awaitable<std::shared_ptr<Stream>> Session::open_stream() {
  auto self = shared_from_this();
  for (;;) {
    if (closed_) throw std::system_error(Errc::session_closed);
    if (local_go_away_ || remote_go_away_) throw std::system_error(Errc::go_away);
    if (outbound_open_ >= cfg_.max_streams) throw std::system_error(Errc::too_many_streams);
    if (unacked_outbound_ < cfg_.max_ack_backlog) break;
    co_await ack_backlog_.wait();
  }
  if (next_id_ > 0xFFFFFFFFu) throw std::system_error(Errc::stream_ids_exhausted);
  const auto id = static_cast<std::uint32_t>(next_id_);
  next_id_ += 2;
  auto stream = std::shared_ptr<Stream>(new Stream(self, id, true, cfg_.initial_window));
  streams_.emplace(id, stream.get());
  publish_stream_count();
  ++outbound_open_;
  ++unacked_outbound_;
  ++counters_.streams_outbound;
  // Like go-yamux and js-libp2p: the SYN goes out at once on a
  // WINDOW_UPDATE, carrying any window above the spec's 256 KiB.
  send_window_update(*stream, 0);
  co_return stream;
}

void Session::go_away(GoAwayCode code) {
  if (closed_) return;
  if (code != GoAwayCode::normal) {
    shutdown("local go away (" + code_name(static_cast<std::uint32_t>(code)) + ")", code, true);
    return;
  }
  if (local_go_away_) return;
  local_go_away_ = true;
  enqueue_control({FrameType::go_away, 0, 0, static_cast<std::uint32_t>(GoAwayCode::normal)});
  ack_backlog_.notify();  // waiting open_stream calls fail now
  if (streams_.empty()) shutdown("local go away complete", std::nullopt, true);
}

void Session::close() {
  shutdown("closed locally", local_go_away_ ? std::nullopt : std::optional(GoAwayCode::normal),
           true);
}

// ---------------------------------------------------------------- reader

asio::awaitable<bool> Session::fill(std::size_t n) {
  while (rend_ - rpos_ < n) {
    if (rpos_ == rend_ && conn_ready_ != nullptr) {
      // Everything read is parsed: wait for the connection without a buffer.
      rbuf_.reset();
      rpos_ = rend_ = 0;
      co_await conn_ready_->wait_readable();
    }
    take_read_buffer();
    if (rpos_ > 0) {
      // Move the unparsed tail to the front; at most one header's worth.
      std::copy(rbuf_.get() + rpos_, rbuf_.get() + rend_, rbuf_.get());
      rend_ -= rpos_;
      rpos_ = 0;
    }
    const std::size_t got =
        co_await conn_->read_some(std::span(rbuf_.get() + rend_, cfg_.read_buffer_size - rend_));
    if (got == 0) co_return false;
    rend_ += got;
    counters_.bytes_in += got;
  }
  co_return true;
}

asio::awaitable<void> Session::read_loop(std::shared_ptr<Session> self, bool woken,
                                         std::exception_ptr wait_error) {
  std::string reason;
  std::optional<GoAwayCode> code;
  bool remote_eof = false;
  try {
    if (wait_error) std::rethrow_exception(wait_error);
    while (!closed_) {
      if (!std::exchange(woken, false) && rpos_ == rend_ && conn_ready_ != nullptr) {
        // Between frames with nothing buffered: park the connection with a
        // callback and end this coroutine, so that an idle session holds
        // neither a reader frame nor a read buffer. Bytes (or the end, or a
        // reset) start the next reader, which carries on from here.
        rbuf_.reset();
        rpos_ = rend_ = 0;
        conn_ready_->on_readable(ex_, [self](std::exception_ptr e) {
          asio::co_spawn(self->ex_, self->read_loop(self, true, std::move(e)), asio::detached);
        });
        co_return;
      }
      if (!co_await fill(kHeaderSize)) {
        remote_eof = true;
        reason = rend_ == rpos_ ? "connection closed by remote" : "connection closed mid-frame";
        break;
      }
      auto h = decode_header(std::span(rbuf_.get() + rpos_, kHeaderSize), cfg_.max_frame);
      if (!h) throw net::ProtocolError(h.message());
      rpos_ += kHeaderSize;
      ++counters_.frames_in;
      switch (h->type) {
        case FrameType::data:
          co_await handle_data(*h);
          break;
        case FrameType::window_update:
          handle_window_update(*h);
          break;
        case FrameType::ping:
          handle_ping(*h);
          break;
        case FrameType::go_away:
          handle_go_away(*h);
          break;
      }
    }
  } catch (const net::ProtocolError& e) {
    reason = e.what();
    code = GoAwayCode::protocol_error;
  } catch (const std::system_error& e) {
    reason = std::string("connection error: ") + e.what();
    if (e.code() == asio::error::connection_reset || e.code() == std::errc::connection_reset) {
      reason = "connection reset";
    }
  } catch (const std::exception& e) {
    reason = std::string("internal error: ") + e.what();
    code = GoAwayCode::internal_error;
  }
  if (!closed_) shutdown(reason, code, /*flush=*/true);

  // Closing cleanly: read (and drop) until the remote closes too, so its
  // last frames do not turn our close into a TCP RST. Bounded by
  // close_timeout, which resets the connection.
  if (flush_on_close_ && !remote_eof) {
    try {
      take_read_buffer();
      while (co_await conn_->read_some(std::span(rbuf_.get(), cfg_.read_buffer_size)) > 0) {
      }
    } catch (const std::exception&) {
    }
  }
  reader_done_ = true;
  maybe_finish();
}

Stream* Session::find(std::uint32_t id) {
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

std::shared_ptr<Stream> Session::accept_inbound(std::uint32_t id) {
  if (auto st = remote_ids_.on_syn(id); !st) throw net::ProtocolError(st.message());
  if (streams_.count(id) != 0) {
    throw net::ProtocolError("yamux: SYN for open stream " + std::to_string(id));
  }
  if (local_go_away_ || inbound_open_ >= cfg_.max_streams) {
    ++counters_.streams_refused;
    streams_refused_.store(counters_.streams_refused, std::memory_order_relaxed);
    enqueue_control({FrameType::window_update, flags::rst, id, 0});
    return nullptr;
  }
  auto stream =
      std::shared_ptr<Stream>(new Stream(shared_from_this(), id, false, cfg_.initial_window));
  streams_.emplace(id, stream.get());
  publish_stream_count();
  ++inbound_open_;
  ++counters_.streams_inbound;
  return stream;
}

asio::awaitable<void> Session::handle_data(const FrameHeader& h) {
  std::shared_ptr<Stream> inbound;
  Stream* s = nullptr;
  if (h.flags & flags::syn) {
    inbound = accept_inbound(h.stream_id);
    s = inbound.get();
  } else {
    s = find(h.stream_id);
  }
  if (s != nullptr) {
    touch();
    if (!s->state_.outbound()) touch_remote();
    switch (s->state_.on_data(h.length)) {
      case DataVerdict::ok:
        // The window bounds one stream; the gate bounds the connection,
        // peer, IP and node. Over it, this stream goes, not the session.
        if (h.length > 0 && cfg_.memory) {
          if (cfg_.memory->reserve(s->buffered(), h.length)) {
            s->reserved_ += h.length;
          } else {
            reset_for_memory(*s);
            s = nullptr;
            inbound.reset();  // never handed to the application
          }
        }
        break;
      case DataVerdict::window_exceeded:
        throw net::ProtocolError("yamux: DATA of " + std::to_string(h.length) +
                                 " bytes on stream " + std::to_string(h.stream_id) +
                                 " exceeds the receive window (" +
                                 std::to_string(s->state_.recv_window_remaining()) + " left)");
      case DataVerdict::after_fin:
        // The remote broke its own half-close: end this stream only.
        send_rst(*s);
        s->on_remote_reset();
        forget(*s);
        s = nullptr;
        break;
      case DataVerdict::after_reset:
        s = nullptr;
        break;
    }
  } else if (!(h.flags & flags::syn)) {
    ++counters_.frames_unknown_stream;
  }

  // Stream the payload through the read buffer into the stream's buffer.
  // The stream is looked up again after every wait: the application may
  // have dropped it meanwhile.
  const bool deliver = s != nullptr;
  std::uint32_t remaining = h.length;
  while (remaining > 0) {
    if (rend_ == rpos_ && !co_await fill(1)) {
      throw std::system_error(make_error_code(std::errc::connection_aborted),
                              "connection closed mid-frame");
    }
    const auto take = static_cast<std::uint32_t>(std::min<std::size_t>(remaining, rend_ - rpos_));
    if (deliver) {
      if (Stream* t = find(h.stream_id)) t->deliver(std::span(rbuf_.get() + rpos_, take));
    }
    rpos_ += take;
    remaining -= take;
  }
  if (deliver) {
    if (Stream* t = find(h.stream_id)) apply_remote_flags(*t, h.flags);
  }
  if (inbound && on_inbound_ && !closed_) on_inbound_(std::move(inbound));
}

void Session::handle_window_update(const FrameHeader& h) {
  std::shared_ptr<Stream> inbound;
  Stream* s = nullptr;
  if (h.flags & flags::syn) {
    inbound = accept_inbound(h.stream_id);
    s = inbound.get();
  } else {
    s = find(h.stream_id);
  }
  if (s == nullptr) {
    if (!(h.flags & flags::syn)) ++counters_.frames_unknown_stream;
    return;
  }
  touch();
  if (!s->state_.outbound()) touch_remote();
  if (auto st = s->state_.on_window_update(h.length); !st) {
    throw net::ProtocolError(st.message() + " on stream " + std::to_string(h.stream_id));
  }
  s->writable_.notify();
  apply_remote_flags(*s, h.flags);
  if (inbound && on_inbound_ && !closed_) on_inbound_(std::move(inbound));
}

void Session::apply_remote_flags(Stream& s, std::uint16_t fl) {
  if ((fl & flags::ack) && s.state_.awaiting_ack()) {
    s.state_.on_ack();
    --unacked_outbound_;
    ack_backlog_.notify();
  }
  if (fl & flags::rst) {
    s.on_remote_reset();
    forget(s);
    return;
  }
  if (fl & flags::fin) {
    s.on_remote_fin();
    if (s.state_.finished()) forget(s);
  }
}

void Session::handle_ping(const FrameHeader& h) {
  if (h.flags & flags::syn) {
    ++counters_.pings_answered;
    enqueue_control({FrameType::ping, flags::ack, 0, h.length});
  } else if ((h.flags & flags::ack) && ping_in_flight_ && h.length == ping_id_) {
    ping_in_flight_ = false;
  }
  // Any other ping (unknown ACK) is ignored, as go-yamux does.
}

void Session::handle_go_away(const FrameHeader& h) {
  remote_go_away_ = static_cast<GoAwayCode>(h.length);
  ack_backlog_.notify();  // waiting open_stream calls fail now
  if (h.length != static_cast<std::uint32_t>(GoAwayCode::normal)) {
    shutdown("remote sent GoAway (" + code_name(h.length) + ")", std::nullopt, true);
  }
}

// ---------------------------------------------------------------- lifecycle

void Session::forget(Stream& s) {
  const auto it = streams_.find(s.id_);
  if (it == streams_.end() || it->second != &s) return;
  streams_.erase(it);
  publish_stream_count();
  if (s.state_.outbound()) {
    --outbound_open_;
  } else {
    --inbound_open_;
  }
  if (s.state_.awaiting_ack()) {
    --unacked_outbound_;
    ack_backlog_.notify();
  }
  touch();
  if (local_go_away_ && streams_.empty() && !closed_) {
    shutdown("local go away complete", std::nullopt, true);
  }
}

void Session::on_stream_destroyed(Stream& s) {
  const auto it = streams_.find(s.id_);
  if (it == streams_.end() || it->second != &s) return;
  // Dropped before our FIN: the application gave up, tell the remote. After
  // our FIN, stay silent: go-yamux discards unread data on RST, so a RST
  // here could destroy the response we just sent. Later frames for the
  // stream are ignored.
  if (!s.state_.finished() && !s.state_.local_fin()) send_rst(s);
  s.state_.on_reset();
  forget(s);
}

void Session::shutdown(std::string reason, std::optional<GoAwayCode> send_code, bool flush) {
  if (closed_) return;
  if (send_code) {
    local_go_away_ = true;
    append_header(pending_, {FrameType::go_away, 0, 0, static_cast<std::uint32_t>(*send_code)});
    ++counters_.frames_out;
  }
  closed_ = true;
  close_reason_ = std::move(reason);
  flush_on_close_ = flush && started_;

  auto streams = std::move(streams_);
  streams_.clear();
  publish_stream_count();
  inbound_open_ = outbound_open_ = unacked_outbound_ = 0;
  for (auto& [id, s] : streams) s->on_session_closed();
  on_inbound_ = nullptr;  // may hold references back to us

  wake_writer();
  queue_space_.notify();
  ack_backlog_.notify();
  timer_.cancel();  // the keepalive loop wakes, sees closed_ and ends
  if (!flush_on_close_) {
    conn_->reset();
  } else {
    timer_.expires_after(cfg_.close_timeout);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->conn_->reset();  // the remote neither read nor closed in time
    });
  }
  if (on_close_) {
    asio::post(ex_,
               [self = shared_from_this(), cb = std::move(on_close_)] { cb(self->close_reason_); });
    on_close_ = nullptr;
  }
}

void Session::maybe_finish() {
  if (!reader_done_ || !writer_done_) return;
  timer_.cancel();  // the linger
  conn_->reset();   // releases the socket; both directions are done
}

}  // namespace mp::yamux

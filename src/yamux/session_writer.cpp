// The Yamux session's writer side: control and data frames queued under the
// write-queue limit and the MemoryGate, one coalescing writer that drains
// the queue onto the connection, and the keepalive ping. The reader and the
// lifecycle are in session.cpp.
#include "yamux/session.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <system_error>
#include <utility>

namespace mp::yamux {

namespace {

// Buffers above this are released once drained, so a busy connection keeps
// little memory after a burst; an idle one (nothing queued) keeps none.
constexpr std::size_t kKeepCapacity = 64 * 1024;
// First allocation of an empty queue: a few frames without regrowing.
constexpr std::size_t kFirstQueue = 1024;

void reserve_first(Bytes& queue, std::size_t n) {
  if (queue.capacity() == 0) queue.reserve(std::max(n, kFirstQueue));
}

}  // namespace

void Session::enqueue_control(const FrameHeader& h) {
  if (closed_) return;
  if (pending_.size() + kHeaderSize > cfg_.write_queue_limit + cfg_.control_queue_reserve) {
    // The remote does not read what it makes us answer: drop it.
    shutdown("write queue overflow (remote not reading)", std::nullopt, false);
    return;
  }
  reserve_first(pending_, kHeaderSize);
  append_header(pending_, h);
  ++counters_.frames_out;
  wake_writer();
}

void Session::send_data(Stream& s, BytesView payload) {
  std::uint16_t fl = s.state_.take_open_flags();
  if (fl != 0) {
    if (const std::uint32_t extra = s.state_.take_initial_window_extra(); extra > 0) {
      enqueue_control({FrameType::window_update, fl, s.id_, extra});
      fl = 0;
    }
  }
  reserve_first(pending_, kHeaderSize + payload.size());
  append_header(pending_, {FrameType::data, fl, s.id_, static_cast<std::uint32_t>(payload.size())});
  pending_.insert(pending_.end(), payload.begin(), payload.end());
  ++counters_.frames_out;
  touch();
  wake_writer();
}

void Session::send_window_update(Stream& s, std::uint32_t delta) {
  const std::uint16_t fl = s.state_.take_open_flags();
  if (fl != 0) delta += s.state_.take_initial_window_extra();
  touch();
  enqueue_control({FrameType::window_update, fl, s.id_, delta});
}

void Session::send_fin(Stream& s) {
  const std::uint16_t fl = s.state_.take_open_flags();
  const std::uint32_t delta = fl != 0 ? s.state_.take_initial_window_extra() : 0;
  touch();
  enqueue_control(
      {FrameType::window_update, static_cast<std::uint16_t>(fl | flags::fin), s.id_, delta});
}

void Session::send_rst(Stream& s) {
  touch();
  enqueue_control({FrameType::window_update, flags::rst, s.id_, 0});
}

void Session::reset_for_memory(Stream& s) {
  ++counters_.streams_reset_memory;
  if (!s.state_.finished()) send_rst(s);
  s.drop_for_memory();
  forget(s);
}

void Session::wake_writer() {
  if (!started_ || writer_running_ || writer_done_) return;
  writer_running_ = true;
  // Posted, not started here: co_spawn would run the writer inline, writing
  // each frame as it is queued instead of what one handler queues at once.
  asio::post(ex_, [self = shared_from_this()] {
    asio::co_spawn(self->ex_, self->write_loop(self), asio::detached);
  });
}

asio::awaitable<void> Session::write_loop(std::shared_ptr<Session> /*keeps us alive*/) {
  for (;;) {
    if (closed_ && !flush_on_close_) break;
    if (pending_.empty()) {
      if (closed_) {
        // Everything (including our GoAway) is out: half-close so the
        // remote reads EOF after it.
        try {
          co_await conn_->close_write();
        } catch (const std::exception&) {
        }
        break;
      }
      // Idle: hold no queue buffers, and no frame: the next frame queued
      // starts a writer again (wake_writer).
      Bytes().swap(pending_);
      Bytes().swap(writing_);
      writer_running_ = false;
      co_return;
    }
    writing_.swap(pending_);
    writing_reserved_ = std::exchange(pending_reserved_, 0);
    queue_space_.notify();
    try {
      co_await conn_->write(writing_);
    } catch (const std::exception& e) {
      if (!closed_)
        shutdown(std::string("connection write failed: ") + e.what(), std::nullopt, false);
      break;
    }
    counters_.bytes_out += writing_.size();
    release_queued(std::exchange(writing_reserved_, 0));
    writing_.clear();
    if (writing_.capacity() > kKeepCapacity) Bytes().swap(writing_);
  }
  writer_done_ = true;
  maybe_finish();
}

asio::awaitable<void> Session::keepalive_loop(std::shared_ptr<Session> /*keeps us alive*/) {
  while (!closed_) {
    timer_.expires_after(cfg_.keepalive_interval);
    std::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    if (ping_in_flight_) {
      shutdown("keepalive ping not answered", std::nullopt, false);
      break;
    }
    ping_in_flight_ = true;
    enqueue_control({FrameType::ping, flags::syn, 0, ++ping_id_});
  }
}

}  // namespace mp::yamux

// Deadline: resets a stream when a scope outlives a time limit. The one way
// the connection stack and the protocols bound how long a peer may take
// (a handshake, a stream negotiation, a request, an answer):
//
//   net::Deadline deadline(executor, 10s, stream);
//   co_await exchange(*stream);   // throws once the deadline reset the stream
//   ...                           // deadline.fired(): was it the deadline?
//   // leaving the scope disarms it; restart() moves it
//
// What callers may rely on:
//  - No allocation of its own: the timer lives in the Deadline; its handler
//    holds a copy of the stream's shared_ptr (so the stream outlives it) and
//    the number the stream was armed with.
//  - Disarming wins: a deadline that passes in the same turn of the event
//    loop as the scope ends (its handler already queued) does nothing. The
//    stream carries its arm number (ByteStream::deadline_epoch_); a handler
//    resets only a stream still armed by its own Deadline.
//  - One Deadline per stream at a time (they may follow each other); a
//    deadline that changes (first exchange, then the whole handshake) is one
//    Deadline restarted.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "net/byte_stream.hpp"

namespace mp::net {

class Deadline {
 public:
  Deadline(const asio::any_io_executor& ex, std::chrono::steady_clock::duration after,
           std::shared_ptr<ByteStream> stream);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Disarms the current deadline and arms one at `at` (or `after` from now).
  void restart(std::chrono::steady_clock::time_point at);
  void restart(std::chrono::steady_clock::duration after) {
    restart(std::chrono::steady_clock::now() + after);
  }
  // The deadline passed and reset the stream (since the last restart).
  bool fired() const { return stream_->deadline_epoch_ != epoch_; }

 private:
  void arm(std::chrono::steady_clock::time_point at);
  void disarm();

  asio::steady_timer timer_;
  std::shared_ptr<ByteStream> stream_;
  std::uint32_t epoch_ = 0;  // odd: the stream's number while we arm it
};

}  // namespace mp::net

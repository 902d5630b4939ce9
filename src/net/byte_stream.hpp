// ByteStream: the one duplex byte-stream interface every layer of the
// connection stack speaks (TCP socket, Noise channel, Yamux stream), so that
// multistream-select and every protocol handler are written once.
//
// Contract (all calls from the connection's io_context thread):
//  - read_some: waits for at least one byte; returns 0 on clean EOF (the
//    remote closed its write side); throws std::system_error on reset,
//    timeout or a protocol violation of a lower layer.
//  - write: returns once all bytes are accepted by the lower layer (which
//    may mean waiting for flow-control credit: that is the backpressure).
//  - close_write: half-close (TCP shutdown / Noise EOF / Yamux FIN).
//  - reset: abort both directions at once; pending operations throw.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>

#include "core/bytes.hpp"
#include "net/error.hpp"

namespace mp::net {

class Deadline;

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) = 0;
  virtual asio::awaitable<void> write(BytesView data) = 0;
  virtual asio::awaitable<void> close_write() = 0;
  virtual void reset() = 0;

 private:
  friend class Deadline;
  // Odd while a net::Deadline is armed on this stream (deadline.hpp).
  std::uint32_t deadline_epoch_ = 0;
};

// A protocol or framing violation by the remote: caught by the connection
// glue, logged with its message, and the offending stream or connection is
// closed. code() says which layer and what (net::Errc, multistream::Errc,
// noise::Errc, ...); what() is the detail for the log, without the code's
// message appended.
class ProtocolError : public std::system_error {
 public:
  ProtocolError(std::error_code code, const std::string& detail)
      : std::system_error(code), detail_(detail) {}
  explicit ProtocolError(const std::string& detail)
      : ProtocolError(make_error_code(Errc::protocol_violation), detail) {}
  const char* what() const noexcept override { return detail_.what(); }

 private:
  std::runtime_error detail_;  // reference-counted text: copies do not throw
};

}  // namespace mp::net

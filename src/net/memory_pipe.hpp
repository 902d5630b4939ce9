// MemoryStream: two connected in-memory ByteStreams (a duplex pipe) on one
// io_context, for tests of anything that speaks ByteStream (Yamux, Noise,
// multistream-select) without sockets.
//
// Each direction buffers at most `capacity` bytes; write waits beyond that
// (backpressure, as a socket would). close_write makes the peer's reads
// return 0 once the buffer is drained. reset (or destroying an end) breaks
// both directions: pending and later operations on either end throw
// std::system_error (connection_reset on the peer, operation_aborted on the
// end that reset). wait_readable (net::WaitReadable) waits for bytes or the
// end, as a TCP socket's readiness.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstddef>
#include <memory>
#include <utility>

#include "net/byte_stream.hpp"
#include "net/wait_readable.hpp"

namespace mp::net {

class MemoryStream final : public ByteStream, public WaitReadable {
 public:
  struct Shared;  // both directions; shared by the two ends

  MemoryStream(std::shared_ptr<Shared> shared, int side);
  ~MemoryStream() override;
  MemoryStream(const MemoryStream&) = delete;
  MemoryStream& operator=(const MemoryStream&) = delete;

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override;
  asio::awaitable<void> write(BytesView data) override;
  asio::awaitable<void> close_write() override;
  void reset() override;
  asio::awaitable<void> wait_readable() override;

  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  std::shared_ptr<Shared> shared_;
  int side_;
  std::uint64_t bytes_written_ = 0;
};

std::pair<std::unique_ptr<MemoryStream>, std::unique_ptr<MemoryStream>> make_memory_pipe(
    const asio::any_io_executor& ex, std::size_t capacity = 64 * 1024);

}  // namespace mp::net

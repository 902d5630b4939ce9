// TcpStream: ByteStream over an Asio TCP socket. wait_readable waits on
// the socket's readiness (no buffer held while the connection is idle);
// on_readable is the same wait with a plain completion handler (no
// coroutine frame either). Reads and writes are tried synchronously first
// (see kSyncTurns).
#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>

#include "net/byte_stream.hpp"
#include "net/wait_readable.hpp"

namespace mp::net {

class TcpStream final : public ByteStream, public WaitReadable {
 public:
  explicit TcpStream(asio::ip::tcp::socket socket, std::atomic<std::uint64_t>* bytes_in = nullptr,
                     std::atomic<std::uint64_t>* bytes_out = nullptr)
      : socket_(std::move(socket)), total_in_(bytes_in), total_out_(bytes_out) {}

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override;
  asio::awaitable<void> write(BytesView data) override;
  asio::awaitable<void> close_write() override;
  void reset() override;
  asio::awaitable<void> wait_readable() override;
  void on_readable(const asio::any_io_executor& ex, ReadableHandler done) override;

  asio::ip::tcp::socket& socket() { return socket_; }
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  // Reads and writes are tried synchronously first (the socket is
  // non-blocking): bytes already queued, or room in the send buffer, cost one
  // syscall and no trip through the scheduler. Every kSyncTurns-th operation
  // still goes through the reactor, so that one busy connection yields.
  static constexpr std::uint32_t kSyncTurns = 16;
  // True when this operation may go synchronously (and sets the socket
  // non-blocking on first use).
  bool sync_turn();

  asio::ip::tcp::socket socket_;
  bool maybe_more_ = false;  // the last read filled its buffer, or a wait saw the socket readable
  bool non_blocking_ = false;
  std::uint32_t sync_turns_ = kSyncTurns;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::atomic<std::uint64_t>* total_in_;  // process-wide counters (may be null)
  std::atomic<std::uint64_t>* total_out_;
};

}  // namespace mp::net

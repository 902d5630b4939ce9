// BufferedReader: reads varints, length-prefixed messages and exact byte
// counts from a ByteStream, keeping whatever arrived past the current message
// for the next call. Size limits are checked before anything is buffered.
//
// The buffer is sized by what arrives: the first read asks for at most
// kFirstRead bytes, and the buffer doubles only when it is full of bytes
// not consumed yet (a message longer than it), so it stays within about
// twice the longest message read. It is never zero-filled: a reader per
// stream costs one small allocation, not 16 KiB.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/bytes.hpp"
#include "net/byte_stream.hpp"

namespace mp::net {

class BufferedReader {
 public:
  explicit BufferedReader(ByteStream& stream) : stream_(stream) {}

  // Reads an unsigned varint. Throws ProtocolError if malformed, and
  // std::system_error(eof) if the stream ends first.
  asio::awaitable<std::uint64_t> read_varint();
  // Reads exactly n bytes.
  asio::awaitable<Bytes> read_exact(std::size_t n);
  // Reads a varint length prefix then that many bytes; throws ProtocolError
  // when the prefix exceeds max_size. Returns nullopt on clean EOF before the
  // first byte of the prefix (the remote finished sending messages).
  asio::awaitable<std::optional<Bytes>> read_length_prefixed(std::size_t max_size);

  static constexpr std::size_t kFirstRead = 1024;

  // Bytes already read from the stream but not yet consumed.
  BytesView buffered() const { return {buf_.get() + pos_, end_ - pos_}; }
  void consume(std::size_t n) { pos_ += n; }
  // Waits for more bytes; returns false on EOF.
  asio::awaitable<bool> fill();

 private:
  ByteStream& stream_;
  std::unique_ptr<std::uint8_t[]> buf_;  // [pos_, end_) read, not consumed; end_ <= cap_
  std::size_t cap_ = 0;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
};

// Writes varint(len) || data in one write.
asio::awaitable<void> write_length_prefixed(ByteStream& stream, BytesView data);

}  // namespace mp::net

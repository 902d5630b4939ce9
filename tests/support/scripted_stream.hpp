// ScriptedStream: a ByteStream for unit tests that replays fixed input (in
// chunks of a chosen size, to exercise fragmentation) and records what was
// written. No sockets, no timing.
#pragma once

#include <algorithm>
#include <asio/error.hpp>
#include <cstring>
#include <system_error>

#include "net/byte_stream.hpp"

namespace mp::test {

class ScriptedStream final : public net::ByteStream {
 public:
  explicit ScriptedStream(Bytes input, std::size_t chunk = SIZE_MAX)
      : input_(std::move(input)), chunk_(chunk) {}

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override {
    if (reset_) throw std::system_error(asio::error::connection_reset);
    const std::size_t n = std::min({buf.size(), input_.size() - pos_, chunk_});
    if (n > 0) std::memcpy(buf.data(), input_.data() + pos_, n);  // data() may be null when empty
    pos_ += n;
    co_return n;
  }
  asio::awaitable<void> write(BytesView data) override {
    if (reset_) throw std::system_error(asio::error::connection_reset);
    if (closed_write) throw std::system_error(asio::error::broken_pipe);  // written after close
    append(output, data);
    co_return;
  }
  asio::awaitable<void> close_write() override {
    closed_write = true;
    output_at_close = output.size();
    co_return;
  }
  void reset() override { reset_ = true; }

  Bytes output;
  bool closed_write = false;
  std::size_t output_at_close = 0;  // bytes written before close_write

 private:
  Bytes input_;
  std::size_t pos_ = 0;
  std::size_t chunk_;
  bool reset_ = false;
};

}  // namespace mp::test

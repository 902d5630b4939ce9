// PrefixedStream: a ByteStream that first serves bytes already read from the
// inner stream (e.g. what a peer pipelined behind its multistream-select
// proposal), then reads from the inner stream. Writes go straight through.
#pragma once

#include <memory>

#include "net/byte_stream.hpp"

namespace mp::net {

class PrefixedStream final : public ByteStream {
 public:
  // Owning form: keeps `inner` alive.
  PrefixedStream(Bytes prefix, std::shared_ptr<ByteStream> inner)
      : prefix_(std::move(prefix)), inner_(inner.get()), owner_(std::move(inner)) {}

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override;
  asio::awaitable<void> write(BytesView data) override { co_await inner_->write(data); }
  asio::awaitable<void> close_write() override { co_await inner_->close_write(); }
  void reset() override { inner_->reset(); }

  ByteStream& inner() { return *inner_; }

 private:
  Bytes prefix_;
  std::size_t pos_ = 0;
  ByteStream* inner_;
  std::shared_ptr<ByteStream> owner_;
};

}  // namespace mp::net

// PrefixedStream: a ByteStream that first serves bytes already read from the
// inner stream (e.g. what a peer pipelined behind its multistream-select
// proposal), then reads from the inner stream. Writes go straight through.
//
// Once the prefix is drained its buffer is freed and reads (and
// wait_readable and on_readable, when the inner stream has them) are the inner stream's own
// operations, handed back without a coroutine frame of this layer: a
// drained PrefixedStream leaves the read chain of an idle connection.
#pragma once

#include <memory>

#include "net/byte_stream.hpp"
#include "net/wait_readable.hpp"

namespace mp::net {

class PrefixedStream final : public ByteStream, public WaitReadable {
 public:
  // Owning form: keeps `inner` alive.
  PrefixedStream(Bytes prefix, std::shared_ptr<ByteStream> inner)
      : prefix_(std::move(prefix)),
        inner_(inner.get()),
        inner_ready_(dynamic_cast<WaitReadable*>(inner.get())),
        owner_(std::move(inner)) {}

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override;
  asio::awaitable<void> write(BytesView data) override { co_await inner_->write(data); }
  asio::awaitable<void> close_write() override { co_await inner_->close_write(); }
  void reset() override { inner_->reset(); }
  // Ready at once while prefix bytes remain; otherwise the inner stream's
  // wait (ready at once if it has none).
  asio::awaitable<void> wait_readable() override;
  void on_readable(const asio::any_io_executor& ex, ReadableHandler done) override;

  ByteStream& inner() { return *inner_; }
  bool drained() const { return pos_ == prefix_.size(); }

 private:
  asio::awaitable<std::size_t> read_prefix(std::span<std::uint8_t> buf);

  Bytes prefix_;
  std::size_t pos_ = 0;
  ByteStream* inner_;
  WaitReadable* inner_ready_;  // inner_ as a WaitReadable, or null
  std::shared_ptr<ByteStream> owner_;
};

}  // namespace mp::net

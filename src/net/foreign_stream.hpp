// ForeignStream: a ByteStream that lives on another io_context (a stream of
// a connection on another network thread), used from this one. Each
// operation hops to the stream's thread and the caller resumes on its own
// (net::run_on); reset() is posted there; the stream itself is released on
// its thread. Handlers and services that run on the host's thread see a
// connection on a network thread through this (ARCHITECTURE.md "Threads").
//
// Cost: one coroutine frame and two cross-thread posts per operation, so it
// serves the protocols whose state the host owns (identify, the relay,
// AutoNAT, a service's outbound streams); hot stateless ones run on the
// connection's thread (host::HandlerThread::kConnection) instead.
//
// One operation at a time per direction, as on any ByteStream; buffers
// passed to read_some/write must stay valid until the operation returns
// (they do: the caller is suspended).
#pragma once

#include <asio/any_io_executor.hpp>
#include <memory>

#include "net/byte_stream.hpp"

namespace mp::net {

class ForeignStream final : public ByteStream {
 public:
  // `owner`: the executor `inner` lives on.
  ForeignStream(asio::any_io_executor owner, std::shared_ptr<ByteStream> inner);
  ~ForeignStream() override;

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override;
  asio::awaitable<void> write(BytesView data) override;
  asio::awaitable<void> close_write() override;
  void reset() override;

  const asio::any_io_executor& owner() const { return owner_; }

 private:
  asio::any_io_executor owner_;
  std::shared_ptr<ByteStream> inner_;
};

// Hands `object` to `ex`'s thread to be released there (the last reference
// of something that lives on that thread), or releases it here when this
// is that thread or its io_context is stopped (shutting down: its thread
// has been joined).
void release_on(const asio::any_io_executor& ex, std::shared_ptr<void> object);

}  // namespace mp::net

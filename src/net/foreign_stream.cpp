#include "net/foreign_stream.hpp"

#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "net/hop.hpp"

namespace mp::net {

namespace {

bool stopped(const asio::any_io_executor& ex) {
  asio::io_context* io = io_context_of(ex);
  return io != nullptr && io->stopped();
}

}  // namespace

void release_on(const asio::any_io_executor& ex, std::shared_ptr<void> object) {
  if (!object || runs_here(ex) || stopped(ex)) return;  // released here
  asio::post(ex, [o = std::move(object)]() mutable { o.reset(); });
}

ForeignStream::ForeignStream(asio::any_io_executor owner, std::shared_ptr<ByteStream> inner)
    : owner_(std::move(owner)), inner_(std::move(inner)) {}

ForeignStream::~ForeignStream() {
  release_on(owner_, std::move(inner_));
}

asio::awaitable<std::size_t> ForeignStream::read_some(std::span<std::uint8_t> buf) {
  if (runs_here(owner_)) co_return co_await inner_->read_some(buf);
  // The stream is held by the hop itself: it outlives a caller that is torn down.
  // (Named lambdas: GCC 12 may destroy a temporary of a co_await
  // expression twice.)
  auto op = [s = inner_, buf] { return s->read_some(buf); };
  co_return co_await asio::co_spawn(owner_, std::move(op), asio::use_awaitable);
}

asio::awaitable<void> ForeignStream::write(BytesView data) {
  if (runs_here(owner_)) co_return co_await inner_->write(data);
  auto op = [s = inner_, data] { return s->write(data); };
  co_await asio::co_spawn(owner_, std::move(op), asio::use_awaitable);
}

asio::awaitable<void> ForeignStream::close_write() {
  if (runs_here(owner_)) co_return co_await inner_->close_write();
  auto op = [s = inner_] { return s->close_write(); };
  co_await asio::co_spawn(owner_, std::move(op), asio::use_awaitable);
}

void ForeignStream::reset() {
  asio::dispatch(owner_, [s = inner_] { s->reset(); });
}

}  // namespace mp::net

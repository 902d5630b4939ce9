// WaitReadable: a stream that can wait until bytes (or the end) arrive
// without lending a buffer to put them in.
//
// A layer that reads from a stream keeps its read buffer for as long as the
// read is pending; on an idle connection that is its whole life. A layer
// that sees its stream implement WaitReadable instead gives its buffer back
// while it has nothing buffered, waits here, and takes a buffer again only
// once bytes are there (TCP waits on the socket's readiness; Noise on TCP's,
// unless it already holds plaintext; a PrefixedStream on its inner stream,
// unless its prefix is not drained yet).
//
// Contract: wait_readable completes once a read_some would find bytes or
// the end of the stream, or may complete early (a later read_some then just
// waits). It throws what read_some would throw on a reset stream.
//
// on_readable is the same wait with a callback instead of a coroutine:
// `done` is called once, on the stream's io_context (`ex` when it posts),
// with null or the exception wait_readable
// would have thrown. A reader that parks an idle connection with it holds
// no coroutine frame while it waits (TCP waits with a plain completion
// handler; Noise and a drained PrefixedStream pass it down). The default
// runs wait_readable in a coroutine of its own.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <exception>
#include <functional>

namespace mp::net {

class WaitReadable {
 public:
  using ReadableHandler = std::function<void(std::exception_ptr)>;

  virtual asio::awaitable<void> wait_readable() = 0;
  virtual void on_readable(const asio::any_io_executor& ex, ReadableHandler done) {
    asio::co_spawn(ex, wait_readable(), std::move(done));
  }

 protected:
  ~WaitReadable() = default;
};

}  // namespace mp::net

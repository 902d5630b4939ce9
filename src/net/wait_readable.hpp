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
#pragma once

#include <asio/awaitable.hpp>

namespace mp::net {

class WaitReadable {
 public:
  virtual asio::awaitable<void> wait_readable() = 0;

 protected:
  ~WaitReadable() = default;
};

}  // namespace mp::net

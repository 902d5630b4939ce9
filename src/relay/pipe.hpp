// The byte pipe of a relayed connection: copies bytes both ways between the
// initiator's hop stream and the target's stop stream until both sides have
// finished, the data cap is reached in either direction, or the duration
// runs out (libp2p/specs relay/circuit-v2.md "Limit"). On a limit both
// streams are reset: the circuit is over. The relay never looks at the bytes
// (they are the two ends' own Noise session).
//
// Memory: one fixed buffer per direction for the circuit's lifetime, no
// allocation per chunk.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <cstdint>
#include <memory>

#include "core/bytes.hpp"
#include "net/byte_stream.hpp"
#include "relay/protocol.hpp"

namespace mp::relay {

enum class PipeEnd {
  kClosed,       // both directions reached EOF
  kDataLimit,    // a direction reached limit.data bytes
  kDuration,     // limit.duration elapsed
  kReset,        // a stream was reset or failed
};
const char* to_string(PipeEnd e);

struct PipeResult {
  PipeEnd end = PipeEnd::kClosed;
  std::uint64_t a_to_b = 0;  // bytes
  std::uint64_t b_to_a = 0;
};

// `a_prefix` / `b_prefix`: bytes already read from a (resp. b) past the
// handshake messages, delivered first. `relayed` (optional) is increased as
// bytes pass, for metrics.
asio::awaitable<PipeResult> splice(asio::any_io_executor ex, std::shared_ptr<net::ByteStream> a,
                                   std::shared_ptr<net::ByteStream> b, CircuitLimit limit,
                                   std::atomic<std::uint64_t>* relayed = nullptr, Bytes a_prefix = {},
                                   Bytes b_prefix = {});

}  // namespace mp::relay

// multistream-select 1.0 negotiation over a ByteStream, as listener and as
// dialer. Whatever the remote pipelined after the agreed protocol (common:
// js-libp2p and rust-libp2p send the first protocol bytes right behind the
// proposal) is returned as `leftover` so no byte is lost; wrap the stream in a
// net::PrefixedStream with it.
#pragma once

#include <asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "multistream/error.hpp"
#include "net/byte_stream.hpp"

namespace mp::multistream {

struct Negotiated {
  std::string protocol;
  Bytes leftover;
  // With Answer::kReturn: the accepting answer, not yet written.
  Bytes answer;
};

// Whether the listener writes its accepting answer itself (kWrite), or
// returns it for the caller to send with the protocol's first bytes
// (kReturn: one write, one TCP segment fewer; the caller must send it
// promptly, as a dialer may wait for it before it says anything more).
enum class Answer { kWrite, kReturn };

// Listener side. `supported` says whether we speak a protocol. Answers "na"
// to anything else and to "ls" (listing is optional in the spec and leaks
// nothing useful to a bootstrap node's peers). Throws net::ProtocolError on a
// malformed or oversized message, after `max_attempts` refused proposals, or
// std::system_error when the stream fails. The codes are multistream::Errc
// (error.hpp): not_supported when the remote gave up after refusals.
asio::awaitable<Negotiated> negotiate_inbound(net::ByteStream& stream,
                                              const std::function<bool(std::string_view)>& supported,
                                              int max_attempts = 16, Answer answer = Answer::kWrite);

// Dialer side: proposes each protocol in order (header and first proposal in
// one write) until the listener accepts one. Throws net::ProtocolError
// (multistream::Errc::not_supported) if none is accepted. `read_only`: the
// dialer will write nothing after the protocol name (identify's asker), so
// its write side is closed right behind the last proposal, in the same
// flush, instead of by a frame of its own when it is done.
asio::awaitable<Negotiated> negotiate_outbound(net::ByteStream& stream,
                                               const std::vector<std::string>& protocols,
                                               bool read_only = false);

}  // namespace mp::multistream

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
};

// Listener side. `supported` says whether we speak a protocol. Answers "na"
// to anything else and to "ls" (listing is optional in the spec and leaks
// nothing useful to a bootstrap node's peers). Throws net::ProtocolError on a
// malformed or oversized message, after `max_attempts` refused proposals, or
// std::system_error when the stream fails. The codes are multistream::Errc
// (error.hpp): not_supported when the remote gave up after refusals.
asio::awaitable<Negotiated> negotiate_inbound(net::ByteStream& stream,
                                              const std::function<bool(std::string_view)>& supported,
                                              int max_attempts = 16);

// Dialer side: proposes each protocol in order (header and first proposal in
// one write) until the listener accepts one. Throws net::ProtocolError
// (multistream::Errc::not_supported) if none is accepted.
asio::awaitable<Negotiated> negotiate_outbound(net::ByteStream& stream,
                                               const std::vector<std::string>& protocols);

}  // namespace mp::multistream

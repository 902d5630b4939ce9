// The client side of one Kademlia request on an open /ipfs/kad/1.0.0 stream
// (libp2p/specs kad-dht/README.md "RPC messages"): write the request with
// an unsigned-varint length prefix, read one length-prefixed answer of at
// most `max_size` bytes, close our side. ADD_PROVIDER has no answer.
//
// No dialing and no timeouts here: the caller opens the stream and bounds
// the exchange (DhtService resets the stream after its request timeout).
// Remote misbehaviour (oversized, malformed, mismatched answer, stream
// closed without one) throws net::ProtocolError; resets throw
// std::system_error, as ByteStream does.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <optional>

#include "core/result.hpp"
#include "kad/protocol.hpp"
#include "net/byte_stream.hpp"

namespace mp::kad {

// Whether `request` expects an answer (every type but ADD_PROVIDER).
bool expects_response(const Message& request);

// Checks that `response` answers `request`: same type, and for
// GET_VALUE / GET_PROVIDERS / PUT_VALUE the same key (go-libp2p-kad-dht
// and rust-libp2p answer with the request's key).
Status check_response(const Message& request, const Message& response);

// Sends `request` and, when it expects one, returns the checked answer.
asio::awaitable<std::optional<Message>> send_request(net::ByteStream& stream,
                                                     const Message& request,
                                                     std::size_t max_size);

}  // namespace mp::kad

// Ping (libp2p/specs ping/ping.md): /ipfs/ping/1.0.0. The dialer sends 32
// random bytes, the listener echoes them back, on the same stream, for as
// long as the dialer keeps it open.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>

#include "net/byte_stream.hpp"

namespace mp::ping {

inline constexpr std::string_view kProtocol = "/ipfs/ping/1.0.0";
inline constexpr std::size_t kPayloadSize = 32;

// Echoes 32-byte payloads until the remote closes or resets the stream.
// Returns the number of pings answered. A trailing partial payload is an
// error (the spec only allows whole 32-byte pings).
asio::awaitable<std::uint64_t> serve(net::ByteStream& stream);

// Sends one ping on `stream` and waits for the echo; returns the round-trip
// time. Throws net::ProtocolError if the echo differs.
asio::awaitable<std::chrono::microseconds> ping_once(net::ByteStream& stream);

}  // namespace mp::ping

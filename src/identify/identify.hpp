// Identify (libp2p/specs identify/README.md): /ipfs/id/1.0.0 answers a new
// stream with one length-prefixed Identify message about us; /ipfs/id/push/1.0.0
// carries an unsolicited update from the remote. This file holds the codec
// (pure) and the stream handlers (thin coroutines).
#pragma once

#include <asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"
#include "identify/info.hpp"
#include "net/byte_stream.hpp"

namespace mp::identify {

inline constexpr std::string_view kProtocol = "/ipfs/id/1.0.0";
inline constexpr std::string_view kPushProtocol = "/ipfs/id/push/1.0.0";
// rust-libp2p refuses identify messages over 4 KiB and go-libp2p over 8 KiB;
// we accept up to 64 KiB from others (long address lists exist) and keep ours small.
inline constexpr std::size_t kMaxMessageSize = 64 * 1024;

// What we keep of a remote's identify: a node uses a few addresses and
// protocol names, so a 64 KiB message full of them must not become
// megabytes of parsed strings. Entries beyond these are dropped and counted.
inline constexpr std::size_t kMaxKeptAddrs = 32;
inline constexpr std::size_t kMaxKeptProtocols = 64;
inline constexpr std::size_t kMaxProtocolLength = 128;
inline constexpr std::size_t kMaxVersionLength = 128;  // agent and protocol version, truncated

// Encodes `info` (public_key must be set).
Bytes encode(const Info& info);

// Decodes a message from `remote`. Fails if it is not a valid protobuf or if
// it carries a public key that does not hash to `remote` (a forged identity).
// Undecodable addresses are skipped and counted, not fatal.
Result<Info> decode(BytesView message, const PeerId& remote);

// Stream glue.
// Answers an /ipfs/id/1.0.0 stream: writes `ours` and closes our side.
asio::awaitable<void> serve(net::ByteStream& stream, const Info& ours);
// Reads the remote's answer on a stream we opened (or a push stream).
asio::awaitable<Info> receive(net::ByteStream& stream, const PeerId& remote);

}  // namespace mp::identify

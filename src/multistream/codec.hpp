// multistream-select 1.0 message codec (multiformats/multistream-select,
// libp2p/specs connections/README.md#protocol-negotiation): each message is
// an unsigned-varint length, then the UTF-8 text, then '\n' (counted in the
// length). Pure functions; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace mp::multistream {

inline constexpr std::string_view kProtocolId = "/multistream/1.0.0";
inline constexpr std::string_view kNotAvailable = "na";
// Longest message we accept. go-multistream and rust-libp2p refuse messages
// over 1 KiB / 16 KiB; protocol ids are short, so 1 KiB bounds what a peer
// can make us buffer during negotiation.
inline constexpr std::size_t kMaxMessageSize = 1024;

// Appends one encoded message (varint(len+1) || text || '\n') to `out`.
void encode_message(std::string_view text, Bytes& out);
Bytes encode_message(std::string_view text);

// Validates a received message body (the bytes after the length prefix) and
// returns its text without the trailing newline.
Result<std::string> decode_message(BytesView body);

}  // namespace mp::multistream

// Yamux frame codec: the 12-byte header of libp2p/specs yamux/README.md
// ("Framing"), bytes <-> FrameHeader and nothing else.
//
//   version:u8 (always 0) | type:u8 | flags:u16 | stream_id:u32 | length:u32
//
// All fields big endian. `length` is the payload size for DATA, a window
// delta for WINDOW_UPDATE, an opaque value for PING and an error code for
// GO_AWAY; only DATA frames are followed by a payload.
//
// decode_header() refuses what no peer may send (bad version or type, an
// oversized DATA frame, a session-level frame on a stream id or the other way
// round); every refusal is a protocol error that ends the session.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace mp::yamux {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::uint8_t kVersion = 0;
// Spec, "Flow Control": every stream starts with a 256 KiB window both ways.
inline constexpr std::uint32_t kInitialWindow = 256 * 1024;
// multistream-select protocol id.
inline constexpr std::string_view kProtocolId = "/yamux/1.0.0";

enum class FrameType : std::uint8_t { data = 0, window_update = 1, ping = 2, go_away = 3 };

namespace flags {
inline constexpr std::uint16_t syn = 0x1;  // opens a stream / ping request
inline constexpr std::uint16_t ack = 0x2;  // accepts a stream / ping response
inline constexpr std::uint16_t fin = 0x4;  // half-close
inline constexpr std::uint16_t rst = 0x8;  // reset
}  // namespace flags

// GO_AWAY length values.
enum class GoAwayCode : std::uint32_t { normal = 0, protocol_error = 1, internal_error = 2 };

struct FrameHeader {
  FrameType type = FrameType::data;
  std::uint16_t flags = 0;
  std::uint32_t stream_id = 0;
  std::uint32_t length = 0;

  bool operator==(const FrameHeader&) const = default;
};

// Writes the 12 header bytes to out.
void encode_header(const FrameHeader& h, std::span<std::uint8_t, kHeaderSize> out);
// Appends the 12 header bytes to out (the write queue's path: no allocation
// once `out` has grown to its working size).
void append_header(Bytes& out, const FrameHeader& h);

// Decodes the first 12 bytes of `in` (which must hold at least 12).
// max_data_length bounds the payload of a DATA frame.
Result<FrameHeader> decode_header(BytesView in, std::uint32_t max_data_length);

}  // namespace mp::yamux

#include "yamux/frame.hpp"

#include <string>

namespace mp::yamux {

namespace {

void put_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put_u32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace

void encode_header(const FrameHeader& h, std::span<std::uint8_t, kHeaderSize> out) {
  out[0] = kVersion;
  out[1] = static_cast<std::uint8_t>(h.type);
  put_u16(&out[2], h.flags);
  put_u32(&out[4], h.stream_id);
  put_u32(&out[8], h.length);
}

void append_header(Bytes& out, const FrameHeader& h) {
  const std::size_t at = out.size();
  out.resize(at + kHeaderSize);
  encode_header(h, std::span<std::uint8_t, kHeaderSize>(out.data() + at, kHeaderSize));
}

Result<FrameHeader> decode_header(BytesView in, std::uint32_t max_data_length) {
  if (in.size() < kHeaderSize) return make_error("yamux: short frame header");
  if (in[0] != kVersion) {
    return make_error("yamux: unsupported version " + std::to_string(in[0]));
  }
  if (in[1] > static_cast<std::uint8_t>(FrameType::go_away)) {
    return make_error("yamux: unknown frame type " + std::to_string(in[1]));
  }
  FrameHeader h;
  h.type = static_cast<FrameType>(in[1]);
  h.flags = get_u16(&in[2]);
  h.stream_id = get_u32(&in[4]);
  h.length = get_u32(&in[8]);

  const bool session_frame = h.type == FrameType::ping || h.type == FrameType::go_away;
  // Spec: "Both Ping and Go Away messages should always use the 0 StreamID",
  // and "the 0 ID is reserved to represent the session".
  if (session_frame && h.stream_id != 0) {
    return make_error("yamux: ping/go-away frame on stream " + std::to_string(h.stream_id));
  }
  if (!session_frame && h.stream_id == 0) return make_error("yamux: stream frame on stream id 0");
  if (h.type == FrameType::data && h.length > max_data_length) {
    return make_error("yamux: DATA frame of " + std::to_string(h.length) +
                      " bytes exceeds the limit of " + std::to_string(max_data_length));
  }
  return h;
}

}  // namespace mp::yamux

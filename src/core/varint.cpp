#include "core/varint.hpp"

namespace mp::varint {

void encode(std::uint64_t value, Bytes& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

Bytes encode(std::uint64_t value) {
  Bytes out;
  encode(value, out);
  return out;
}

std::size_t encoded_size(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

DecodeStatus decode(BytesView in, Decoded& out) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i >= kMaxBytes) return DecodeStatus::kOverflow;
    const std::uint8_t b = in[i];
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      // A trailing zero byte after the first means a non-minimal encoding.
      if (b == 0 && i > 0) return DecodeStatus::kNotMinimal;
      out = {value, i + 1};
      return DecodeStatus::kOk;
    }
  }
  return in.size() >= kMaxBytes ? DecodeStatus::kOverflow : DecodeStatus::kIncomplete;
}

std::optional<Decoded> decode(BytesView in) {
  Decoded d{};
  if (decode(in, d) != DecodeStatus::kOk) return std::nullopt;
  return d;
}

}  // namespace mp::varint

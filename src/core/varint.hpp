// Unsigned LEB128 varints as used by multiformats and libp2p length prefixes
// (multiformats/unsigned-varint: at most 9 bytes, minimal encoding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/bytes.hpp"

namespace mp::varint {

inline constexpr std::size_t kMaxBytes = 9;

void encode(std::uint64_t value, Bytes& out);
Bytes encode(std::uint64_t value);
std::size_t encoded_size(std::uint64_t value);

struct Decoded {
  std::uint64_t value;
  std::size_t size;  // bytes consumed
};

enum class DecodeStatus { kOk, kIncomplete, kOverflow, kNotMinimal };

// Decodes a varint at the start of `in`. kIncomplete means more bytes are
// needed; kOverflow/kNotMinimal mean the input is malformed.
DecodeStatus decode(BytesView in, Decoded& out);

// Convenience: nullopt on incomplete or malformed input.
std::optional<Decoded> decode(BytesView in);

}  // namespace mp::varint

// Byte buffers and views used across the project.
// Bytes owns its storage; BytesView is a non-owning view valid while the
// owner lives.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mp {

using Bytes = std::vector<std::uint8_t>;
using BytesView = std::span<const std::uint8_t>;

inline BytesView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string(BytesView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline void append(Bytes& out, BytesView in) { out.insert(out.end(), in.begin(), in.end()); }

std::string to_hex(BytesView b);
// Returns an empty vector and sets ok=false on a malformed hex string.
Bytes from_hex(std::string_view hex, bool* ok = nullptr);

}  // namespace mp

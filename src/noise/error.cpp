#include "noise/error.hpp"

#include "net/error_category.hpp"

namespace mp::noise {

const std::error_category& error_category() {
  // In Errc order (from 1).
  static constexpr const char* kMessages[] = {
      "noise handshake failed",
      "invalid noise handshake payload",
      "remote peer id does not match the dialled one",
      "connection closed during the noise handshake",
      "connection closed inside a noise frame",
      "noise decryption failed",
      "noise encryption failed",
      "noise channel failed earlier",
  };
  static const net::NamedCategory category("noise", kMessages);
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::noise

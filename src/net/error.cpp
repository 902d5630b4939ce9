#include "net/error.hpp"

#include "net/error_category.hpp"

namespace mp::net {

const std::error_category& error_category() {
  // In Errc order (from 1).
  static constexpr const char* kMessages[] = {
      "protocol violation",
      "message too long",
      "malformed varint",
  };
  static const net::NamedCategory category("net", kMessages);
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::net

#include "yamux/error.hpp"

#include "net/error_category.hpp"

namespace mp::yamux {

const std::error_category& error_category() {
  // In Errc order (from 1).
  static constexpr const char* kMessages[] = {
      "yamux stream reset",
      "yamux stream closed for writing",
      "yamux session closed",
      "yamux session is going away",
      "too many yamux streams",
      "yamux stream ids exhausted",
  };
  static const net::NamedCategory category("yamux", kMessages);
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::yamux

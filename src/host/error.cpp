#include "host/error.hpp"

#include "net/error_category.hpp"

namespace mp::host {

const std::error_category& error_category() {
  // In Errc order (from 1).
  static constexpr const char* kMessages[] = {
      "connection refused by a connection limit",
  };
  static const net::NamedCategory category("host", kMessages);
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::host

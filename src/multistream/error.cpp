#include "multistream/error.hpp"

#include "net/error_category.hpp"

namespace mp::multistream {

const std::error_category& error_category() {
  // In Errc order (from 1).
  static constexpr const char* kMessages[] = {
      "stream ended during multistream negotiation",
      "malformed multistream message",
      "unexpected multistream header",
      "unexpected multistream answer",
      "too many refused multistream proposals",
      "no protocol in common",
      "no protocol to propose",
  };
  static const net::NamedCategory category("multistream", kMessages);
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::multistream

#include "tls/error.hpp"

#include "net/error_category.hpp"

namespace mp::tls {

const std::error_category& error_category() {
  // In Errc order (from 1).
  static constexpr const char* kMessages[] = {
      "tls certificate too large",
      "malformed tls certificate",
      "not exactly one tls certificate",
      "tls certificate self-signature invalid",
      "unsupported tls certificate key",
      "tls certificate not yet valid",
      "tls certificate expired",
      "tls certificate without the libp2p extension",
      "malformed libp2p tls extension",
      "unknown critical extension in tls certificate",
      "libp2p tls extension signature invalid",
      "remote peer id does not match the dialled one",
      "tls setup failed",
  };
  static const net::NamedCategory category("tls", kMessages);
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::tls

#include "tls/error.hpp"

#include <iterator>

// In Errc order (from 1).
MP_DEFINE_ERROR_CATEGORY(mp::tls, "tls",
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
    "tls setup failed")

namespace mp::tls {

std::string_view errc_name(Errc e) {
  // In Errc order (from 1).
  static constexpr std::string_view kNames[] = {
    "certificate_too_large",
    "malformed_certificate",
    "certificate_count",
    "bad_self_signature",
    "unsupported_certificate_key",
    "not_yet_valid",
    "expired",
    "missing_extension",
    "malformed_extension",
    "unknown_critical_extension",
    "bad_extension_signature",
    "peer_id_mismatch",
    "setup_failed",
  };
  const auto i = static_cast<std::size_t>(e);
  return i >= 1 && i <= std::size(kNames) ? kNames[i - 1] : "unknown";
}

}  // namespace mp::tls

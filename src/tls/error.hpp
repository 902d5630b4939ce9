// Error codes of the libp2p TLS handshake (libp2p/specs tls/tls.md): why a
// peer's certificate was refused, so the transport can count refusals by
// reason (the category is "tls"; values count from 1 in this order).
#pragma once

#include <string_view>
#include <system_error>

#include "net/error_category.hpp"

namespace mp::tls {

enum class Errc {
  certificate_too_large = 1,    // over kMaxCertificateBytes: refused before parsing
  malformed_certificate,        // not a DER X.509 certificate, or a field we must read is bad
  certificate_count,            // the peer sent no certificate, or more than one
  bad_self_signature,           // the certificate's signature is not its own key's
  unsupported_certificate_key,  // the certificate's key is of a kind or size we refuse
  not_yet_valid,                // NotBefore is in the future
  expired,                      // NotAfter is in the past
  missing_extension,            // no libp2p public key extension
  malformed_extension,          // SignedKey not DER, or its key not a libp2p key we support
  unknown_critical_extension,   // a critical extension we do not understand
  bad_extension_signature,      // the host key's signature over the certificate key is wrong
  peer_id_mismatch,             // the host key is not the Peer ID dialled
  setup_failed,                 // our own certificate or session could not be set up
};

// The enumerator's name ("missing_extension"), for metric labels;
// "unknown" outside the enum.
std::string_view errc_name(Errc e);

}  // namespace mp::tls

MP_DECLARE_ERROR_ENUM(mp::tls, Errc)

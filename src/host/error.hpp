// Error codes of the host itself, thrown as net::ProtocolError (a
// std::system_error) by the upgrade when a connection is refused after its
// handshakes.
#pragma once

#include <system_error>

namespace mp::host {

enum class Errc {
  connection_refused = 1,  // a ConnectionLimits limit (total, per IP, per peer)
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

}  // namespace mp::host

template <>
struct std::is_error_code_enum<mp::host::Errc> : std::true_type {};

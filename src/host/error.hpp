// Error codes of the host itself, thrown as net::ProtocolError (a
// std::system_error) by the upgrade when a connection is refused after its
// handshakes.
#pragma once

#include <system_error>

#include "net/error_category.hpp"

namespace mp::host {

enum class Errc {
  connection_refused = 1,  // a ConnectionLimits limit (total, per IP, per peer)
};

}  // namespace mp::host

MP_DECLARE_ERROR_ENUM(mp::host, Errc)

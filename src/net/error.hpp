// Error codes of the connection stack's own layers (net, multistream-select,
// Noise, Yamux each have a category): the host classifies a failed handshake
// by the category and value of the code it caught, never by its text.
#pragma once

#include <system_error>

#include "net/error_category.hpp"

namespace mp::net {

enum class Errc {
  protocol_violation = 1,  // the remote broke a framing or protocol rule
  message_too_long,        // a length prefix over the caller's limit
  malformed_varint,        // a varint too long or not minimally encoded
};

}  // namespace mp::net

MP_DECLARE_ERROR_ENUM(mp::net, Errc)

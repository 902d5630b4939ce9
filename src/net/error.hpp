// Error codes of the connection stack's own layers (net, multistream-select,
// Noise, Yamux each have a category): the host classifies a failed handshake
// by the category and value of the code it caught, never by its text.
#pragma once

#include <system_error>

namespace mp::net {

enum class Errc {
  protocol_violation = 1,  // the remote broke a framing or protocol rule
  message_too_long,        // a length prefix over the caller's limit
  malformed_varint,        // a varint too long or not minimally encoded
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

}  // namespace mp::net

template <>
struct std::is_error_code_enum<mp::net::Errc> : std::true_type {};

// Error codes of multistream-select negotiation, thrown as net::ProtocolError
// (a std::system_error) by negotiate.hpp.
#pragma once

#include <system_error>

#include "net/error_category.hpp"

namespace mp::multistream {

enum class Errc {
  stream_ended = 1,    // the stream ended before a protocol was agreed
  malformed_message,   // not a valid multistream message
  unexpected_header,   // the remote does not speak /multistream/1.0.0
  unexpected_answer,   // the listener answered neither our proposal nor "na"
  too_many_proposals,  // listener: more refused proposals than allowed
  not_supported,       // no common protocol: the dialer's proposals all refused
  nothing_to_propose,  // dialer called with an empty list
};

}  // namespace mp::multistream

MP_DECLARE_ERROR_ENUM(mp::multistream, Errc)

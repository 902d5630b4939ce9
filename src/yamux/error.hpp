// Error codes thrown (as std::system_error) by yamux streams and sessions.
#pragma once

#include <system_error>

#include "net/error_category.hpp"

namespace mp::yamux {

enum class Errc {
  stream_reset = 1,      // RST received, or reset() called locally
  stream_closed,         // write after close_write()
  session_closed,        // the session ended (remote gone, protocol error, close())
  go_away,               // no new streams: GoAway sent or received
  too_many_streams,      // our own limit on open outbound streams
  stream_ids_exhausted,  // all 2^31 ids of our parity used
};

}  // namespace mp::yamux

MP_DECLARE_ERROR_ENUM(mp::yamux, Errc)

#include "net/error.hpp"

// In Errc order (from 1).
MP_DEFINE_ERROR_CATEGORY(mp::net, "net",
    "protocol violation",
    "message too long",
    "malformed varint")

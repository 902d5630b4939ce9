#include "host/error.hpp"

// In Errc order (from 1).
MP_DEFINE_ERROR_CATEGORY(mp::host, "host",
    "connection refused by a connection limit")

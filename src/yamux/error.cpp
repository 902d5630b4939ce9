#include "yamux/error.hpp"

// In Errc order (from 1).
MP_DEFINE_ERROR_CATEGORY(mp::yamux, "yamux",
    "yamux stream reset",
    "yamux stream closed for writing",
    "yamux session closed",
    "yamux session is going away",
    "too many yamux streams",
    "yamux stream ids exhausted")

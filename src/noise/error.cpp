#include "noise/error.hpp"

// In Errc order (from 1).
MP_DEFINE_ERROR_CATEGORY(mp::noise, "noise",
    "noise handshake failed",
    "invalid noise handshake payload",
    "remote peer id does not match the dialled one",
    "connection closed during the noise handshake",
    "connection closed inside a noise frame",
    "noise decryption failed",
    "noise encryption failed",
    "noise channel failed earlier")

#include "multistream/error.hpp"

// In Errc order (from 1).
MP_DEFINE_ERROR_CATEGORY(mp::multistream, "multistream",
    "stream ended during multistream negotiation",
    "malformed multistream message",
    "unexpected multistream header",
    "unexpected multistream answer",
    "too many refused multistream proposals",
    "no protocol in common",
    "no protocol to propose")

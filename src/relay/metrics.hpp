// The relay's refusals on /metrics, rendered from RelayCounters (atomics
// only: any thread, the HTTP one at scrape time).
//
//   mepassa_relay_refusals_total{reason}             by the status sent (Refusal)
//   mepassa_relay_limit_refusals_total{kind,limit}   reservations and circuits, by the limit
//
// Every label value is rendered from the start (zero until it moves).
#pragma once

#include <string>

#include "relay/relay.hpp"

namespace mp::relay {

std::string metrics_text(const RelayCounters& c);

}  // namespace mp::relay

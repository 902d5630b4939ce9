// The host's counters on /metrics: one collector that reads HostStats and the
// ResourceBudget (relaxed atomics) at scrape time on the HTTP thread.
//
//   mepassa_connections_refused_total{reason,transport}  max_connections | max_per_ip |
//                                              max_per_peer, tcp | quic
//   mepassa_connections_current{direction,transport}, mepassa_connections_opened_total and
//   mepassa_connections_closed_total{direction,transport}   inbound | outbound, tcp | quic
//   mepassa_handshake_failures_total{reason,transport}  timeout | multistream | noise |
//                                              peer_id_mismatch | yamux | limit | io | tls
//   mepassa_streams_refused_total{reason}      max_streams | protocol
//   mepassa_resource_refusals_total{scope,reason}, mepassa_resource_memory_bytes{scope}
//
// Every label value is rendered from the start (zero until it moves), so a
// series never appears at runtime. The Host must outlive the registry's last
// render.
#pragma once

#include <string>

#include "host/host.hpp"
#include "http/metrics.hpp"

namespace mp::app {

// Appends the families above, as Prometheus text, to `out`.
void render_host_metrics(const host::Host& host, std::string& out);

// Registers render_host_metrics as a collector of `registry`.
void add_host_metrics(http::MetricRegistry& registry, const host::Host& host);

}  // namespace mp::app

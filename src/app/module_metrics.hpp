// Prometheus families for counters that modules keep as plain atomics
// without knowing about /metrics: Kademlia (inbound refusals, the record and
// provider stores), the DHT client (outbound requests, dials, lookups,
// refreshes) and the async logger (dropped lines). Each add_* registers one
// collector that reads the atomics at scrape time on the HTTP thread; the
// counted objects must outlive the registry's last render.
#pragma once

#include <cstdint>
#include <functional>

#include "http/metrics.hpp"
#include "http/node_metrics.hpp"
#include "kad/dht_service.hpp"
#include "kad/kademlia.hpp"

namespace mp::app {

// mepassa_kad_refusals_total{reason}, mepassa_kad_store_refusals_total{store,reason},
// mepassa_kad_store_entries/bytes{store}, mepassa_kad_store_evictions_total{store}.
void add_kad_metrics(http::MetricRegistry& registry, const kad::KadCounters& counters);

// mepassa_kad_outbound_requests_total, mepassa_kad_outbound_request_failures_total,
// mepassa_kad_dial_failures_total, mepassa_kad_unreachable_removed_total,
// mepassa_kad_lookups_total, mepassa_kad_refreshes_total (DhtStats).
void add_dht_metrics(http::MetricRegistry& registry, const kad::DhtStats& stats);

// Feeds mepassa_kad_request_duration_seconds with every answered inbound
// request (serve_stream on `kad`) and mepassa_kad_outbound_request_duration_seconds
// with every answered request `dht` sent. Call from the network thread
// before traffic starts.
void observe_kad_latency(kad::Kademlia& kad, kad::DhtService& dht, http::NodeMetrics& metrics);

// mepassa_log_messages_dropped_total from `dropped` (log_messages_dropped()
// in the node; tests may pass their own source).
void add_log_metrics(http::MetricRegistry& registry, std::function<std::uint64_t()> dropped);

}  // namespace mp::app

// The node's own metrics, all named mepassa_*, registered once at startup.
// Network-side code keeps a reference to the NodeMetrics (or to a single
// child such as `connections_opened.at(kInbound)`) and updates it with
// relaxed atomics; /metrics renders whatever the values are at scrape time.
//
// Label values are fixed here so that a series never appears or vanishes at
// runtime and dashboards can rely on every series existing from the start.
#pragma once

#include <cstddef>
#include <string>

#include "http/metrics.hpp"

namespace mp::http {

// Index into the `direction` label of the connection families.
enum class Direction : std::size_t { kInbound = 0, kOutbound = 1 };

// Index into mepassa_kad_requests_total{type} (libp2p/specs kad-dht message types).
enum class KadRequest : std::size_t {
  kFindNode = 0,
  kGetProviders = 1,
  kAddProvider = 2,
  kGetValue = 3,
  kPutValue = 4,
  kPing = 5,
};

// Index into the `result` label of the relay request families.
enum class RelayResult : std::size_t { kAccepted = 0, kDenied = 1, kFailed = 2 };

struct NodeMetrics {
  // Registers every family below on `registry` (which must outlive this).
  // `version` becomes the label of mepassa_build_info.
  NodeMetrics(MetricRegistry& registry, const std::string& version);

  // Connections (current, opened, closed by direction and transport),
  // refusals and handshake failures are the host's own counters
  // (app/host_metrics.hpp).
  Counter& bytes_received;
  Counter& bytes_sent;

  // Kademlia.
  LabelledCounter& kad_requests;  // type
  Histogram& kad_request_duration;           // inbound: request read to answer written
  Histogram& kad_outbound_request_duration;  // ours: stream opened to answer read
  Gauge& routing_table_size;

  // Peer store (storage thread).
  Gauge& storage_queue_depth;
  Counter& storage_queue_dropped;
  Histogram& storage_batch_duration;
  Counter& storage_write_failures;

  // Circuit relay v2 (hop side).
  Gauge& relay_reservations_current;
  LabelledCounter& relay_reservation_requests;  // result
  Gauge& relay_circuits_current;
  LabelledCounter& relay_circuit_requests;  // result
  Counter& relay_circuit_bytes;

  // 1 while /health answers 503 DEGRADED, else 0 (for alerting).
  Gauge& health_degraded;

  Counter& kad_request(KadRequest t) { return kad_requests.at(static_cast<std::size_t>(t)); }
  Counter& relay_reservation(RelayResult r) {
    return relay_reservation_requests.at(static_cast<std::size_t>(r));
  }
  Counter& relay_circuit(RelayResult r) {
    return relay_circuit_requests.at(static_cast<std::size_t>(r));
  }
};

}  // namespace mp::http

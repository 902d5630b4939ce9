#include "http/node_metrics.hpp"

#include <string>
#include <vector>

namespace mp::http {

namespace {

// Latency buckets in seconds: a FIND_NODE answer from memory should land in
// the sub-millisecond buckets; anything past a second means trouble.
std::vector<double> kad_latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

// SQLite batch commits: milliseconds normally, seconds when the disk stalls.
std::vector<double> storage_batch_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<std::string> relay_results() { return {"accepted", "denied", "failed"}; }

}  // namespace

NodeMetrics::NodeMetrics(MetricRegistry& r, const std::string& version)
    : bytes_received(r.counter("mepassa_bytes_received_total",
                               "Bytes read from TCP connections.")),
      bytes_sent(r.counter("mepassa_bytes_sent_total", "Bytes written to TCP connections.")),
      kad_requests(r.counter("mepassa_kad_requests_total", "Inbound Kademlia requests by type.",
                             "type",
                             {"find_node", "get_providers", "add_provider", "get_value",
                              "put_value", "ping"})),
      kad_request_duration(r.histogram("mepassa_kad_request_duration_seconds",
                                       "Time from reading an inbound Kademlia request to "
                                       "writing its answer.",
                                       kad_latency_buckets())),
      kad_outbound_request_duration(r.histogram("mepassa_kad_outbound_request_duration_seconds",
                                                "Time from opening a stream to a peer to reading the "
                                                "answer, for the node's own Kademlia requests that "
                                                "were answered (lookups, refresh, bootstrap).",
                                                kad_latency_buckets())),
      routing_table_size(r.gauge("mepassa_routing_table_size",
                                 "Peers in the Kademlia routing table.")),
      storage_queue_depth(r.gauge("mepassa_storage_queue_depth",
                                  "Peer store updates waiting for the storage thread.")),
      storage_queue_dropped(r.counter("mepassa_storage_queue_dropped_total",
                                      "Peer store updates dropped because the queue was full.")),
      storage_batch_duration(r.histogram("mepassa_storage_batch_duration_seconds",
                                         "Time to write one batch of peer store updates.",
                                         storage_batch_buckets())),
      storage_write_failures(r.counter("mepassa_storage_write_failures_total",
                                       "Peer store batches that failed to write.")),
      relay_reservations_current(r.gauge("mepassa_relay_reservations_current",
                                         "Active circuit relay reservations.")),
      relay_reservation_requests(r.counter("mepassa_relay_reservation_requests_total",
                                           "Circuit relay RESERVE requests by outcome.", "result",
                                           relay_results())),
      relay_circuits_current(r.gauge("mepassa_relay_circuits_current",
                                     "Active relayed circuits.")),
      relay_circuit_requests(r.counter("mepassa_relay_circuit_requests_total",
                                       "Circuit relay CONNECT requests by outcome.", "result",
                                       relay_results())),
      relay_circuit_bytes(r.counter("mepassa_relay_circuit_bytes_total",
                                    "Bytes forwarded through relayed circuits (both directions).")),
      health_degraded(r.gauge("mepassa_health_degraded",
                              "1 while /health reports DEGRADED (the peer store cannot write), else 0.")) {
  auto& info = r.gauge("mepassa_build_info", "Always 1; the label carries the version.",
                       "version", {version});
  info.at(std::size_t{0}).set(1);
}

}  // namespace mp::http

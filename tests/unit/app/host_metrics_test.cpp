// The host's counters reach /metrics under their true names, every label
// value present from the start.
#include "app/host_metrics.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

namespace mp::app {
namespace {

TEST(HostMetrics, RendersEveryHostCounterUnderItsReason) {
  asio::io_context io;
  host::Host h(io.get_executor(), host::HostConfig{}, Ed25519KeyPair::generate());
  http::MetricRegistry registry;
  add_host_metrics(registry, h);
  const std::string before = registry.render();
  for (const char* line : {
           "mepassa_connections_refused_total{reason=\"max_connections\"} 0\n",
           "mepassa_connections_refused_total{reason=\"max_per_ip\"} 0\n",
           "mepassa_connections_refused_total{reason=\"max_per_peer\"} 0\n",
           "mepassa_handshake_failures_total{reason=\"limit\"} 0\n",
           "mepassa_handshake_failures_total{reason=\"peer_id_mismatch\"} 0\n",
           "mepassa_streams_refused_total{reason=\"max_streams\"} 0\n",
           "mepassa_streams_refused_total{reason=\"protocol\"} 0\n",
       }) {
    EXPECT_NE(before.find(line), std::string::npos) << "missing: " << line;
  }

  h.stats().count(host::LimitRefusal::kMaxConnections);
  h.stats().count(host::LimitRefusal::kMaxPerPeer);
  h.stats().count(host::LimitRefusal::kMaxPerPeer);
  h.stats().count(host::HandshakeFailure::kLimit);
  h.stats().count(host::HandshakeFailure::kPeerIdMismatch);
  h.stats().count(host::StreamRefusal::kMaxStreams, 3);
  h.stats().count(host::StreamRefusal::kProtocol);
  const std::string after = registry.render();
  for (const char* line : {
           "# TYPE mepassa_connections_refused_total counter\n",
           "mepassa_connections_refused_total{reason=\"max_connections\"} 1\n",
           "mepassa_connections_refused_total{reason=\"max_per_ip\"} 0\n",
           "mepassa_connections_refused_total{reason=\"max_per_peer\"} 2\n",
           "mepassa_handshake_failures_total{reason=\"limit\"} 1\n",
           "mepassa_handshake_failures_total{reason=\"peer_id_mismatch\"} 1\n",
           "mepassa_handshake_failures_total{reason=\"yamux\"} 0\n",
           "mepassa_streams_refused_total{reason=\"max_streams\"} 3\n",
           "mepassa_streams_refused_total{reason=\"protocol\"} 1\n",
           "# TYPE mepassa_resource_refusals_total counter\n",
       }) {
    EXPECT_NE(after.find(line), std::string::npos) << "missing: " << line;
  }
}

}  // namespace
}  // namespace mp::app

// The host's counters reach /metrics under their true names, every label
// value present from the start.
#include "app/host_metrics.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "quic/address.hpp"
#include "support/run_coro.hpp"

namespace mp::app {
namespace {

TEST(HostMetrics, RendersEveryHostCounterUnderItsReason) {
  asio::io_context io;
  host::Host h(io.get_executor(), host::HostConfig{}, Ed25519KeyPair::generate());
  http::MetricRegistry registry;
  add_host_metrics(registry, h);
  const std::string before = registry.render();
  for (const char* line : {
           "mepassa_connections_refused_total{reason=\"max_connections\",transport=\"tcp\"} 0\n",
           "mepassa_connections_refused_total{reason=\"max_per_ip\",transport=\"quic\"} 0\n",
           "mepassa_connections_refused_total{reason=\"max_per_peer\",transport=\"tcp\"} 0\n",
           "mepassa_handshake_failures_total{reason=\"limit\",transport=\"tcp\"} 0\n",
           "mepassa_handshake_failures_total{reason=\"peer_id_mismatch\",transport=\"quic\"} 0\n",
           "mepassa_connections_opened_total{direction=\"inbound\",transport=\"tcp\"} 0\n",
           "mepassa_connections_closed_total{direction=\"outbound\",transport=\"quic\"} 0\n",
           "mepassa_connections_current{direction=\"inbound\",transport=\"quic\"} 0\n",
           "mepassa_streams_refused_total{reason=\"max_streams\"} 0\n",
           "mepassa_streams_refused_total{reason=\"protocol\"} 0\n",
       }) {
    EXPECT_NE(before.find(line), std::string::npos) << "missing: " << line;
  }

  h.stats().count(host::LimitRefusal::kMaxConnections, host::Transport::kTcp);
  h.stats().count(host::LimitRefusal::kMaxPerPeer, host::Transport::kQuic);
  h.stats().count(host::LimitRefusal::kMaxPerPeer, host::Transport::kQuic);
  h.stats().count(host::HandshakeFailure::kLimit, host::Transport::kTcp);
  h.stats().count(host::HandshakeFailure::kPeerIdMismatch, host::Transport::kQuic);
  h.stats().count(host::StreamRefusal::kMaxStreams, 3);
  h.stats().count(host::StreamRefusal::kProtocol);
  const std::string after = registry.render();
  for (const char* line : {
           "# TYPE mepassa_connections_refused_total counter\n",
           "mepassa_connections_refused_total{reason=\"max_connections\",transport=\"tcp\"} 1\n",
           "mepassa_connections_refused_total{reason=\"max_connections\",transport=\"quic\"} 0\n",
           "mepassa_connections_refused_total{reason=\"max_per_ip\",transport=\"tcp\"} 0\n",
           "mepassa_connections_refused_total{reason=\"max_per_peer\",transport=\"quic\"} 2\n",
           "mepassa_connections_refused_total{reason=\"max_per_peer\",transport=\"tcp\"} 0\n",
           "mepassa_handshake_failures_total{reason=\"limit\",transport=\"tcp\"} 1\n",
           "mepassa_handshake_failures_total{reason=\"limit\",transport=\"quic\"} 0\n",
           "mepassa_handshake_failures_total{reason=\"peer_id_mismatch\",transport=\"quic\"} 1\n",
           "mepassa_handshake_failures_total{reason=\"yamux\",transport=\"tcp\"} 0\n",
           "mepassa_streams_refused_total{reason=\"max_streams\"} 3\n",
           "mepassa_streams_refused_total{reason=\"protocol\"} 1\n",
           "# TYPE mepassa_resource_refusals_total counter\n",
       }) {
    EXPECT_NE(after.find(line), std::string::npos) << "missing: " << line;
  }
}


// A TCP and a QUIC connection between two hosts: the connection families
// move under their own transport label, on both sides, and a failed QUIC
// dial counts under transport="quic".
host::HostConfig both_transports() {
  host::HostConfig c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/127.0.0.1/tcp/0"),
                    *Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1")};
  c.ping_interval = std::chrono::hours(1);
  return c;
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

asio::awaitable<void> tcp_then_quic(host::Host& a, host::Host& b) {
  using namespace std::chrono_literals;
  Multiaddr tcp, quic;
  for (const auto& m : b.listen_addrs()) (quic::is_quic(m) ? quic : tcp) = m;
  auto c1 = co_await a.dial(tcp.with_peer_id(b.local_peer()));
  auto c2 = co_await a.dial(quic.with_peer_id(b.local_peer()), std::nullopt, true);
  EXPECT_EQ(c1->transport(), host::Transport::kTcp);
  EXPECT_EQ(c2->transport(), host::Transport::kQuic);
  const PeerId other = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
  try {
    co_await a.dial(quic.with_peer_id(other), std::nullopt, true);
  } catch (const std::exception&) {
  }
  for (int i = 0; i < 500 && b.connections().size() < 2; ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, 10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  a.shutdown();
  b.shutdown();
}

TEST(HostMetrics, ConnectionFamiliesCarryTheTransportLabel) {
  asio::io_context io;
  host::Host a(io.get_executor(), both_transports(), Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), both_transports(), Ed25519KeyPair::generate());
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, tcp_then_quic(a, b), std::chrono::seconds(20));
  std::string in, out;
  render_host_metrics(b, in);
  render_host_metrics(a, out);
  for (const char* t : {"tcp", "quic"}) {
    const std::string label = std::string(",transport=\"") + t + "\"}";
    EXPECT_TRUE(has(in, "mepassa_connections_opened_total{direction=\"inbound\"" + label + " 1")) << in;
    EXPECT_TRUE(has(out, "mepassa_connections_opened_total{direction=\"outbound\"" + label + " 1")) << out;
    EXPECT_TRUE(has(in, "mepassa_connections_opened_total{direction=\"outbound\"" + label + " 0"));
  }
  EXPECT_TRUE(has(out, "mepassa_handshake_failures_total{reason=\"peer_id_mismatch\",transport=\"quic\"} 1"));
  EXPECT_TRUE(has(out, "mepassa_handshake_failures_total{reason=\"peer_id_mismatch\",transport=\"tcp\"} 0"));
  // Shut down: the closes are counted under the same labels.
  io.restart();
  io.run_for(std::chrono::seconds(3));
  std::string closed;
  render_host_metrics(a, closed);
  EXPECT_TRUE(has(closed, "mepassa_connections_closed_total{direction=\"outbound\",transport=\"quic\"} 1")) << closed;
  EXPECT_TRUE(has(closed, "mepassa_connections_current{direction=\"outbound\",transport=\"quic\"} 0"));
}

// MAX_CONNECTIONS_PER_IP refuses a second QUIC connection at its Initial and
// a second TCP one at accept: each is counted under its own transport.
asio::awaitable<void> refused_over_both(host::Host& a, host::Host& b) {
  Multiaddr tcp, quic;
  for (const auto& m : b.listen_addrs()) (quic::is_quic(m) ? quic : tcp) = m;
  co_await a.dial(quic.with_peer_id(b.local_peer()));
  bool second_quic = false, second_tcp = false;
  try {
    co_await a.dial(quic.with_peer_id(b.local_peer()), std::nullopt, true);
    second_quic = true;
  } catch (const std::exception&) {
  }
  try {
    co_await a.dial(tcp.with_peer_id(b.local_peer()), std::nullopt, true);
    second_tcp = true;
  } catch (const std::exception&) {
  }
  EXPECT_FALSE(second_quic);
  EXPECT_FALSE(second_tcp);
  a.shutdown();
  b.shutdown();
}

TEST(HostMetrics, ConnectionRefusalsCarryTheTransportLabel) {
  asio::io_context io;
  auto client = both_transports();
  client.handshake_timeout = std::chrono::milliseconds(1500);  // the refused QUIC dial gives up
  client.dial_timeout = std::chrono::milliseconds(1500);
  auto server = both_transports();
  server.limits.max_connections_per_ip = 1;
  host::Host a(io.get_executor(), client, Ed25519KeyPair::generate());
  host::Host b(io.get_executor(), server, Ed25519KeyPair::generate());
  ASSERT_TRUE(a.listen().ok());
  ASSERT_TRUE(b.listen().ok());
  test::run_in(io, refused_over_both(a, b), std::chrono::seconds(20));
  EXPECT_GE(b.stats().get(host::LimitRefusal::kMaxPerIp, host::Transport::kQuic), 1u);
  EXPECT_EQ(b.stats().get(host::LimitRefusal::kMaxPerIp, host::Transport::kTcp), 1u);
  EXPECT_EQ(b.stats().get(host::LimitRefusal::kMaxConnections, host::Transport::kQuic), 0u);
  std::string text;
  render_host_metrics(b, text);
  EXPECT_TRUE(has(text, "mepassa_connections_refused_total{reason=\"max_per_ip\",transport=\"tcp\"} 1")) << text;
  EXPECT_FALSE(has(text, "mepassa_connections_refused_total{reason=\"max_per_ip\",transport=\"quic\"} 0")) << text;
}

}  // namespace
}  // namespace mp::app

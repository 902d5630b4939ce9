// The status page (GET / and /api/status, http/status.hpp): the
// connection tally, hourly samples and recent events kept from the host's
// events on the network thread, published once a second as a snapshot.
#include "app/node.hpp"
#include "app/node_config.hpp"
#include "autonat/server.hpp"
#include "relay/relay.hpp"
#include "storage/peer_store.hpp"

namespace mp::app {
namespace {

http::Transport transport_of(const Multiaddr& a) {
  if (a.is_circuit() || !a.has(Proto::kTcp)) return http::Transport::kOther;
  if (a.has(Proto::kIp4)) return http::Transport::kTcp4;
  if (a.has(Proto::kIp6)) return http::Transport::kTcp6;
  return http::Transport::kOther;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// The status page's connection tally and recent events (status.hpp).
// Per connection it keeps its transport, its address and agent string
// (both capped) until the connection closes.
void Node::on_status_connected(const host::ConnectionEstablished& est) {
  if (!config_.http_dashboard) return;
  const bool inbound = est.direction == host::Direction::kInbound;
  const auto t = transport_of(est.remote_addr);
  std::string addr = http::truncate_utf8(est.remote_addr.to_string(), http::kMaxAddressBytes);
  const std::string peer = est.peer.to_base58();
  conn_tally_.opened(inbound, t);
  conn_events_.connected(unix_ms_now(), est.connection_id, inbound, t, peer, addr);
  status_conns_[est.connection_id] = StatusConnection{inbound, t, std::move(addr), {}};
}

void Node::on_status_closed(const host::ConnectionClosed& closed) {
  const auto it = status_conns_.find(closed.connection_id);
  if (it == status_conns_.end()) return;
  const auto& c = it->second;
  conn_tally_.closed(c.inbound, c.transport);
  conn_events_.disconnected(unix_ms_now(), closed.connection_id, c.inbound, c.transport,
                            closed.peer.to_base58(), c.address, c.agent, closed.reason);
  status_conns_.erase(it);
}

void Node::publish_status(const http::HealthSnapshot& health) {
  http::StatusSnapshot s;
  s.health = health;
  s.connections = conn_tally_.counts();
  conn_history_.maybe_sample(unix_ms_now() / 1000, s.connections);
  s.history.assign(conn_history_.samples().begin(), conn_history_.samples().end());
  const auto& rt = kad_.routing_table();
  s.routing.size = rt.size();
  s.routing.k = rt.config().k;
  for (std::size_t i = 0; i < kad::RoutingTable::kBuckets && i < s.routing.bucket_fill.size(); ++i) {
    s.routing.bucket_fill[i] =
        static_cast<std::uint8_t>(std::min<std::size_t>(rt.bucket(i).entries().size(), 255));
  }
  s.routing.rejected_diversity = rt.counters().rejected_diversity;
  s.routing.dropped_bucket_full = rt.counters().dropped_bucket_full;
  if (relay_) {
    const auto& rc = relay_->counters();
    const auto limits = relay_limits(config_);
    s.relay.enabled = true;
    s.relay.reservations = rc.reservations_current.load();
    s.relay.circuits = rc.circuits_current.load();
    s.relay.max_reservations = static_cast<std::int64_t>(limits.max_reservations);
    s.relay.max_circuits = static_cast<std::int64_t>(limits.max_circuits);
    s.relay.reservations_accepted = rc.reservations_accepted.load();
    s.relay.reservations_refused = rc.reservations_refused.load();
    s.relay.circuits_accepted = rc.circuits_accepted.load();
    s.relay.circuits_refused = rc.circuits_refused.load();
    s.relay.bytes_relayed = rc.bytes_relayed.load();
  }
  const auto& ac = autonat_->counters();
  s.autonat = {ac.ok.load(), ac.dial_error.load(), ac.dial_refused.load(), ac.bad_request.load()};
  if (store_) {
    const auto c = store_->counters();
    s.store.enabled = true;
    s.store.queue_depth = c.queue_depth;
    s.store.queue_capacity = c.queue_capacity;
    s.store.batches_committed = c.batches_committed;
    s.store.last_batch_ms = c.last_batch_latency_us / 1000;
    s.store.write_failures = c.write_failures;
    s.store.queue_full_refusals = c.queue_full_refusals;
  }
  s.events = conn_events_.events();
  status_.publish(std::move(s));
}

void Node::on_status_identified(const host::IdentifyReceived& id) {
  if (auto it = status_conns_.find(id.connection_id); it != status_conns_.end()) {
    it->second.agent = http::truncate_utf8(id.info.agent_version, http::kMaxAgentBytes);
    conn_events_.set_agent(id.connection_id, id.info.agent_version);
  }
}

}  // namespace mp::app

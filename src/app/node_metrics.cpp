// The node's /metrics (the modules' collectors, registered once), the
// once-a-second publishing of the health snapshot and of the totals kept as
// atomics into NodeMetrics (the metrics bridge), and the periodic
// misbehaviour summary.
#include <spdlog/spdlog.h>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "app/host_metrics.hpp"
#include "app/logging.hpp"
#include "app/fleet_service.hpp"
#include "app/module_metrics.hpp"
#include "app/node.hpp"
#include "app/reverification.hpp"
#include "autonat/server.hpp"
#include "http/process_metrics.hpp"
#include "kad/dht_service.hpp"
#include "relay/metrics.hpp"
#include "relay/relay.hpp"
#include "storage/peer_store.hpp"

namespace mp::app {
namespace {

// Adds to `c` what `now_value` grew by since `last` (a module's total
// copied into a NodeMetrics counter).
void sync_counter(http::Counter& c, std::uint64_t now_value, std::uint64_t& last) {
  if (now_value > last) c.inc(now_value - last);
  last = now_value;
}

}  // namespace

// Each module's counters through its own collector (rendered on the HTTP
// thread at scrape time: atomics only), in the order /metrics shows them.
void Node::add_metric_collectors() {
  http::add_process_metrics(registry_);
  add_host_metrics(registry_, host_);
  add_kad_metrics(registry_, kad_.counters());
  add_log_metrics(registry_, log_messages_dropped);
  add_dht_metrics(registry_, dht_->stats());
  observe_kad_latency(kad_, *dht_, metrics_);
  registry_.add_collector([a = autonat_.get()](std::string& out) {
    out += autonat::metrics_text(a->counters());
    out += autonat::v2::metrics_text(a->v2_counters());
  });
  if (relay_) {
    registry_.add_collector([r = relay_.get()](std::string& out) { out += relay::metrics_text(r->counters()); });
  }
}

// What the periodic summary reports (misbehaviour_summary.hpp): every
// counter of a refused or failed event a remote can cause.
void Node::watch_misbehaviour() {
  auto& hs = host_.stats();
  for (std::size_t i = 0; i < static_cast<std::size_t>(host::HandshakeFailure::kCount); ++i) {
    summary_.watch(fmt::format("handshake failed ({})", host::kHandshakeFailureNames[i]),
                   [&hs, i] { return hs.handshake_failures[i].load(); });
  }
  for (std::size_t i = 0; i < host::kLimitRefusalNames.size(); ++i) {
    summary_.watch(fmt::format("inbound connections refused ({})", host::kLimitRefusalNames[i]),
                   [&hs, i] { return hs.connections_refused[i].load(); });
  }
  for (std::size_t i = 0; i < host::kStreamRefusalNames.size(); ++i) {
    summary_.watch(fmt::format("inbound streams refused ({})", host::kStreamRefusalNames[i]),
                   [&hs, i] { return hs.streams_refused[i].load(); });
  }
  // Budgets of the hostile-load limits (handshakes in progress, memory,
  // identify pushes, answer deadlines), by scope and reason as on /metrics.
  for (std::size_t sc = 0; sc < host::kScopeNames.size(); ++sc) {
    for (std::size_t r = 0; r < host::kRefusalReasonNames.size(); ++r) {
      const bool memory = r == static_cast<std::size_t>(host::RefusalReason::kMemory);
      summary_.watch(fmt::format("resources refused ({}, {})", host::kScopeNames[sc], host::kRefusalReasonNames[r]),
                     [h = &host_, sc, r, memory] {
                       std::uint64_t v = h->stats().refusals[sc][r].load(std::memory_order_relaxed);
                       if (memory) v += h->budget().refusals(static_cast<host::Scope>(sc));
                       return v;
                     });
    }
  }
  const auto& kc = kad_.counters();
  for (std::size_t i = 0; i < static_cast<std::size_t>(kad::Refusal::kCount); ++i) {
    summary_.watch(
        fmt::format("kad requests refused ({})", kad::to_string(static_cast<kad::Refusal>(i))),
        [&kc, i] { return kc.refusals[i].load(); });
  }
  summary_.watch("kad records evicted for a newcomer",
                 [&kc] { return kc.record_evictions.load(); });
  summary_.watch("kad provider records evicted for a newcomer",
                 [&kc] { return kc.provider_evictions.load(); });
  if (relay_) {
    const auto& rc = relay_->counters();
    for (std::size_t i = 0; i < static_cast<std::size_t>(relay::Refusal::kCount); ++i) {
      summary_.watch(fmt::format("relay requests refused ({})",
                                 relay::refusal_name(static_cast<relay::Refusal>(i))),
                     [&rc, i] { return rc.refusals[i].load(); });
    }
  }
  const auto& ac = autonat_->counters();
  summary_.watch("autonat dial requests refused", [&ac] { return ac.dial_refused.load(); });
  summary_.watch("autonat bad requests", [&ac] { return ac.bad_request.load(); });
}

asio::awaitable<void> Node::summary_loop() {
  asio::steady_timer t(io_);
  while (!stopping_) {
    t.expires_after(config_.log_summary_interval);
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    for (const auto& line : summary_.collect(config_.log_summary_interval)) {
      spdlog::info("misbehaviour: {}", line);
    }
  }
}

void Node::publish_health() {
  http::HealthSnapshot s;
  s.peer_count = host_.connected_peer_count();
  s.routing_table_size = kad_.routing_table().size();
  s.peer_id = host_.local_peer().to_base58();
  for (const auto& a : host_.advertised_addrs()) {
    s.listen_addrs.push_back(a.to_string() + "/p2p/" + s.peer_id);
  }
  if (store_) {
    const auto stats = store_->last_stats();
    const auto counters = store_->counters();
    s.storage.total_peers = stats.total_peers;
    s.storage.total_addresses = stats.total_addresses;
    s.storage.stale_peers = stats.stale_peers;
    if (counters.write_failures > last_write_failures_ || counters.failing) {
      s.storage.ok = false;
      s.storage.failure = "peer store writes are failing (" +
                          std::to_string(counters.write_failures) + " failed transactions)";
      degraded_until_ = kad::Clock::now() + std::chrono::seconds(30);
      last_failure_text_ = s.storage.failure;
    } else if (kad::Clock::now() < degraded_until_) {
      s.storage.ok = false;
      s.storage.failure = last_failure_text_;
    }
    last_write_failures_ = counters.write_failures;
    metrics_.storage_queue_depth.set(static_cast<std::int64_t>(counters.queue_depth));
    metrics_.storage_queue_dropped.inc(counters.queue_full_refusals - last_queue_refusals_);
    last_queue_refusals_ = counters.queue_full_refusals;
    metrics_.storage_write_failures.inc(counters.write_failures - last_failures_metric_);
    last_failures_metric_ = counters.write_failures;
    if (counters.batches_committed > last_batches_) {
      metrics_.storage_batch_duration.observe(static_cast<double>(counters.last_batch_latency_us) / 1e6);
      last_batches_ = counters.batches_committed;
    }
  }
  if (fleet_) s.fleet = fleet_->health();
  if (reverify_) s.reverify = reverify_->health();
  metrics_.routing_table_size.set(static_cast<std::int64_t>(s.routing_table_size));
  metrics_.health_degraded.set(s.storage.ok ? 0 : 1);
  auto& hs = host_.stats();
  sync_counter(metrics_.bytes_received, hs.bytes_in.load(), last_bytes_in_);
  sync_counter(metrics_.bytes_sent, hs.bytes_out.load(), last_bytes_out_);
  // KadCounters are indexed by the protobuf MessageType; the metric's labels
  // are in NodeMetrics' KadRequest order.
  static constexpr std::pair<kad::MessageType, http::KadRequest> kKadTypes[] = {
      {kad::pb::Message_MessageType_FIND_NODE, http::KadRequest::kFindNode},
      {kad::pb::Message_MessageType_GET_PROVIDERS, http::KadRequest::kGetProviders},
      {kad::pb::Message_MessageType_ADD_PROVIDER, http::KadRequest::kAddProvider},
      {kad::pb::Message_MessageType_GET_VALUE, http::KadRequest::kGetValue},
      {kad::pb::Message_MessageType_PUT_VALUE, http::KadRequest::kPutValue},
      {kad::pb::Message_MessageType_PING, http::KadRequest::kPing},
  };
  const auto& kc = kad_.counters();
  for (const auto& [type, label] : kKadTypes) {
    const auto t = static_cast<std::size_t>(type);
    sync_counter(metrics_.kad_request(label), kc.requests[t].load(), last_kad_[t]);
  }
  if (relay_) publish_relay_metrics();
  if (config_.http_dashboard) publish_status(s);
  health_.publish(std::move(s));
}

void Node::publish_relay_metrics() {
  const auto& rc = relay_->counters();
  metrics_.relay_reservations_current.set(rc.reservations_current.load());
  metrics_.relay_circuits_current.set(rc.circuits_current.load());
  sync_counter(metrics_.relay_reservation(http::RelayResult::kAccepted), rc.reservations_accepted.load(),
               last_relay_[0]);
  sync_counter(metrics_.relay_reservation(http::RelayResult::kDenied), rc.reservations_refused.load(),
               last_relay_[1]);
  sync_counter(metrics_.relay_circuit(http::RelayResult::kAccepted), rc.circuits_accepted.load(), last_relay_[2]);
  sync_counter(metrics_.relay_circuit(http::RelayResult::kDenied),
               rc.circuits_refused.load() - rc.circuits_failed.load(), last_relay_[3]);
  sync_counter(metrics_.relay_circuit(http::RelayResult::kFailed), rc.circuits_failed.load(), last_relay_[4]);
  sync_counter(metrics_.relay_circuit_bytes, rc.bytes_relayed.load(), last_relay_[5]);
}

asio::awaitable<void> Node::tick_loop() {
  asio::steady_timer t(io_);
  while (!stopping_) {
    t.expires_after(std::chrono::seconds(1));
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    kad_.expire(kad::Clock::now());
    kad_.set_local_addresses(host_.advertised_addrs());
    publish_health();
  }
}

}  // namespace mp::app

#include "app/node.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <csignal>
#include <cstdlib>
#include <tuple>
#include <unistd.h>

#include "app/host_metrics.hpp"
#include "app/identity.hpp"
#include "app/logging.hpp"
#include "app/misbehaviour_summary.hpp"
#include "app/module_metrics.hpp"
#include "autonat/server.hpp"
#include "app/fleet_service.hpp"  // wiring: fleet
#include "app/warm_start.hpp"
#include "host/host.hpp"
#include "http/health.hpp"
#include "http/http_metrics.hpp"
#include "http/http_server.hpp"
#include "http/metrics.hpp"
#include "http/node_metrics.hpp"
#include "http/process_metrics.hpp"
#include "http/status.hpp"
#include "kad/dht_service.hpp"
#include "kad/kademlia.hpp"
#include "kad/server.hpp"
#include "identify/service.hpp"
#include "ping/ping.hpp"
#include "ping/service.hpp"
#include "relay/relay.hpp"
#include "storage/data_dir_lock.hpp"
#include "storage/pg_peer_store.hpp"  // h-pg
#include "storage/sqlite_peer_store.hpp"

namespace mp::app {
namespace {

using Clock = std::chrono::steady_clock;

host::HostConfig host_config(const Config& c) {
  host::HostConfig h;
  h.listen_addrs = c.listen_addrs;
  h.protocol_version = c.identify_protocol_version;
  h.limits.max_connections = c.max_connections;
  h.limits.max_connections_per_ip = c.max_connections_per_ip;
  h.limits.max_connections_per_peer = c.max_connections_per_peer;
  h.limits.max_streams_per_connection = c.max_streams_per_connection;
  h.handshake_timeout = c.handshake_timeout;
  h.idle_timeout = c.idle_timeout;
  h.ping_interval = c.ping_interval;
  h.max_memory_bytes = std::size_t{c.max_memory_mb} << 20;
  h.max_handshakes = c.max_handshakes;
  h.max_handshakes_per_ip = c.max_handshakes_per_ip;
  return h;
}

relay::RelayLimits relay_limits(const Config& c) {
  relay::RelayLimits r;
  r.max_reservations = r.max_circuits = c.relay_max_circuits;
  r.max_reservations_per_peer = r.max_circuits_per_peer = c.relay_max_per_peer;
  r.max_reservations_per_ip = r.max_circuits_per_ip = c.relay_max_per_ip;
  r.max_reservations_per_subnet = r.max_circuits_per_subnet = c.relay_max_per_subnet;
  r.reservation_ttl = c.relay_reservation_ttl;
  r.circuit.duration = c.relay_circuit_duration;
  r.circuit.data = c.relay_circuit_max_bytes;
  return r;
}

// The modules' own defaults are the options table's (options.hpp), so that
// a module used on its own (tests, tools) behaves as the node does.
static_assert(host::Limits{}.max_connections == default_of<std::size_t>("MAX_CONNECTIONS"));
static_assert(host::Limits{}.max_connections_per_ip == default_of<std::size_t>("MAX_CONNECTIONS_PER_IP"));
static_assert(host::Limits{}.max_connections_per_peer == default_of<std::size_t>("MAX_CONNECTIONS_PER_PEER"));
static_assert(host::Limits{}.max_streams_per_connection ==
              default_of<std::size_t>("MAX_STREAMS_PER_CONNECTION"));
static_assert(relay::RelayLimits{}.max_reservations == default_of<std::size_t>("RELAY_MAX_CIRCUITS"));
static_assert(relay::RelayLimits{}.max_circuits_per_peer == default_of<std::size_t>("RELAY_MAX_PER_PEER"));
static_assert(relay::RelayLimits{}.max_circuits_per_ip == default_of<std::size_t>("RELAY_MAX_PER_IP"));
static_assert(relay::RelayLimits{}.max_circuits_per_subnet == default_of<std::size_t>("RELAY_MAX_PER_SUBNET"));
static_assert(relay::RelayLimits{}.circuit.data == default_of<std::uint64_t>("RELAY_MAX_BYTES_PER_SEC"));
static_assert(relay::RelayLimits{}.circuit.duration.count() ==
              default_of<std::int64_t>("RELAY_CIRCUIT_DURATION_SECS"));
static_assert(relay::RelayLimits{}.reservation_ttl.count() == default_of<std::int64_t>("RELAY_RESERVATION_TTL_SECS"));
static_assert(kad::RecordStoreLimits{}.max_records == default_of<std::size_t>("KAD_MAX_RECORDS"));
static_assert(kad::RecordStoreLimits{}.max_records_per_peer == default_of<std::size_t>("KAD_MAX_RECORDS_PER_PEER"));
static_assert(kad::RecordStoreLimits{}.max_records_per_ip == default_of<std::size_t>("KAD_MAX_RECORDS_PER_IP"));
static_assert(kad::ProviderStoreLimits{}.max_total_providers == default_of<std::size_t>("KAD_MAX_PROVIDERS"));
static_assert(kad::ProviderStoreLimits{}.max_providers_per_peer ==
              default_of<std::size_t>("KAD_MAX_PROVIDERS_PER_PEER"));
static_assert(kad::ProviderStoreLimits{}.max_providers_per_ip == default_of<std::size_t>("KAD_MAX_PROVIDERS_PER_IP"));
static_assert(kad::kDefaultProtocol == default_text("KAD_PROTOCOL"));

kad::KadConfig kad_config(const Config& c) {
  kad::KadConfig k;
  k.protocols = c.kad_protocols;
  k.insert_policy = c.kad_insert == KadInsert::kAll ? kad::InsertPolicy::kAll : kad::InsertPolicy::kServers;
  k.allow_private_addrs = c.allow_private_addrs;
  k.refresh_interval = c.kad_refresh_interval;
  k.records.max_records = c.kad_max_records;
  k.records.max_records_per_peer = c.kad_max_records_per_peer;
  k.records.max_records_per_ip = c.kad_max_records_per_ip;
  k.providers.max_total_providers = c.kad_max_providers;
  k.providers.max_providers_per_peer = c.kad_max_providers_per_peer;
  k.providers.max_providers_per_ip = c.kad_max_providers_per_ip;
  return k;
}

// Addresses worth remembering: not relayed (a relay address lives only as
// long as the reservation), and not private unless the operator allows it.
bool storable(const Multiaddr& a, bool allow_private) {
  if (a.empty() || a.is_circuit()) return false;
  if (!a.tcp_endpoint() && !a.value_of(Proto::kDns) && !a.value_of(Proto::kDns4) &&
      !a.value_of(Proto::kDns6) && !a.value_of(Proto::kUdp)) {
    return false;
  }
  return allow_private || !a.is_private_or_local();
}

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

class Node {
 public:
  Node(const Config& config, Ed25519KeyPair identity, std::unique_ptr<storage::PeerStore> store)
      : config_(config),
        host_(io_.get_executor(), host_config(config), identity),
        identify_(host_),
        ping_(host_),
        kad_(host_.local_peer(), kad_config(config), Clock::now()),
        store_(std::move(store)),
        metrics_(registry_, MP_VERSION),
        http_metrics_(registry_) {
    http::add_process_metrics(registry_);
    add_host_metrics(registry_, host_);
    add_kad_metrics(registry_, kad_.counters());
    add_log_metrics(registry_, log_messages_dropped);
    // Bootstrap peers, the first self-lookup and the periodic refresh (started in run()).
    kad::DhtServiceConfig dcfg;
    dcfg.bootstrap_peers = config.bootstrap_peers;
    dcfg.on_unreachable = [this](const PeerId& p) { on_unreachable(p); };
    dht_ = std::make_unique<kad::DhtService>(io_.get_executor(), host_, kad_, std::move(dcfg));
    add_dht_metrics(registry_, dht_->stats());
    observe_kad_latency(kad_, *dht_, metrics_);
    autonat::AutonatConfig acfg;
    acfg.allow_private = config.allow_private_addrs;
    autonat_ = std::make_unique<autonat::AutonatServer>(io_.get_executor(), host_, acfg);
    registry_.add_collector([a = autonat_.get()](std::string& out) {
      const auto& c = a->counters();
      out += fmt::format(
          "# HELP mepassa_autonat_responses_total AutoNAT dial requests answered, by status.\n"
          "# TYPE mepassa_autonat_responses_total counter\n"
          "mepassa_autonat_responses_total{{status=\"ok\"}} {}\n"
          "mepassa_autonat_responses_total{{status=\"dial_error\"}} {}\n"
          "mepassa_autonat_responses_total{{status=\"dial_refused\"}} {}\n"
          "mepassa_autonat_responses_total{{status=\"bad_request\"}} {}\n",
          c.ok.load(), c.dial_error.load(), c.dial_refused.load(), c.bad_request.load());
      out += autonat::v2::metrics_text(a->v2_counters());  // h-nat: AutoNAT v2 answers
    });
    if (config.relay_enabled) {
      relay_ = std::make_unique<relay::Relay>(io_.get_executor(), host_, identity, relay_limits(config));
      // Refusals by the spec's status (runs on the HTTP thread: atomics only).
      registry_.add_collector([r = relay_.get()](std::string& out) {
        out += "# HELP mepassa_relay_refusals_total Relay requests refused, by the status sent.\n"
               "# TYPE mepassa_relay_refusals_total counter\n";
        for (std::size_t i = 0; i < static_cast<std::size_t>(relay::Refusal::kCount); ++i) {
          out += fmt::format("mepassa_relay_refusals_total{{reason=\"{}\"}} {}\n",
                             relay::refusal_name(static_cast<relay::Refusal>(i)), r->counters().refusals[i].load());
        }
        out += "# HELP mepassa_relay_limit_refusals_total Relay reservations and circuits refused, by the limit.\n"
               "# TYPE mepassa_relay_limit_refusals_total counter\n";
        for (std::size_t kind = 0; kind < 2; ++kind) {
          for (std::size_t i = 1; i < static_cast<std::size_t>(relay::LimitHit::kCount); ++i) {
            out += fmt::format("mepassa_relay_limit_refusals_total{{kind=\"{}\",limit=\"{}\"}} {}\n",
                               kind == 0 ? "reservation" : "circuit",
                               relay::limit_name(static_cast<relay::LimitHit>(i)),
                               r->counters().limit_refusals[kind][i].load());
          }
        }
      });
    }
  }

  int run() {
    if (auto st = host_.listen(config_.listen_addrs_defaulted); !st) {
      spdlog::error("{}", st.message());
      return 1;
    }
    for (const auto& p : config_.kad_protocols) {
      host_.set_handler(p, [this](host::StreamContext ctx) { return serve_kad(std::move(ctx)); });
    }
    if (relay_) relay_->install();  // hop protocol, reservations follow connection closes
    autonat_->install();            // AutoNAT v1 server (dial-backs on new connections)
    kad_.set_local_addresses(host_.advertised_addrs());
    kad_.set_connectedness([this](const PeerId& p) {
      return host_.connection_to(p) ? kad::pb::Message_ConnectionType_CONNECTED
                                    : kad::pb::Message_ConnectionType_NOT_CONNECTED;
    });
    host_.events().subscribe([this](const host::Event& e) { on_event(e); });

    load_stored_peers();

    spdlog::info("Local peer id: {}", host_.local_peer().to_base58());
    for (const auto& a : host_.listen_addrs()) {
      spdlog::info("Listening on {}/p2p/{}", a.to_string(), host_.local_peer().to_base58());
    }

    http::HttpServerOptions hopts;
    hopts.metrics = &http_metrics_;
    hopts.dashboard = config_.http_dashboard;
    hopts.status = status_.source();
    http_ = std::make_unique<http::HttpServer>(registry_, health_.source(), hopts);
    publish_health();
    if (auto st = http_->start(config_.health_bind, config_.health_port); !st) {
      spdlog::error("HTTP server: {}", st.message());
      return 1;
    }
    spdlog::info("HTTP server listening on {}:{} (/health, /metrics{})", config_.health_bind, http_->port(),
                 config_.http_dashboard ? ", status page /" : "");

    dht_->start();
    start_fleet();  // wiring: fleet
    asio::co_spawn(io_, tick_loop(), asio::detached);
    asio::co_spawn(io_, maintenance_loop(), asio::detached);
    watch_misbehaviour();
    asio::co_spawn(io_, summary_loop(), asio::detached);
    asio::co_spawn(io_, wait_for_signals(), asio::detached);

    io_.run();

    // Shutdown: flush every queued write before exit.
    http_->stop();
    if (fleet_) fleet_->stop();  // wiring: fleet
    if (store_) {
      if (auto st = store_->close(); !st) {
        spdlog::error("Peer store did not flush cleanly: {}", st.message());
        return 1;
      }
      spdlog::info("Peer store flushed and closed");
    }
    spdlog::info("Bye");
    return 0;
  }

 private:
  asio::awaitable<void> serve_kad(host::StreamContext ctx) {
    co_await kad::serve_stream(kad_, ctx.stream, ctx.connection->remote_peer(),
                               ctx.connection->remote_ip());
  }

  // What the periodic summary reports (misbehaviour_summary.hpp): every
  // counter of a refused or failed event a remote can cause.
  void watch_misbehaviour() {
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

  asio::awaitable<void> summary_loop() {
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

  // wiring: fleet (fleet/fleet_service.hpp; PostgreSQL only)
  void start_fleet() {
    if (config_.database_url.empty()) return;
    fleet::PgFleetConfig f;
    f.url = config_.database_url;
    f.self = host_.local_peer().to_base58();
    for (const auto& a : host_.advertised_addrs()) f.addrs.push_back(a.to_string() + "/p2p/" + f.self);
    f.version = MP_VERSION;
    f.heartbeat = config_.fleet_heartbeat;
    f.pull = config_.fleet_pull;
    fleet_ = std::make_unique<FleetService>(io_.get_executor(), host_, kad_, std::move(f));
    registry_.add_collector([fl = fleet_.get()](std::string& out) { out += fl->metrics_text(); });
    fleet_->start();
  }

  void load_stored_peers() {
    if (!store_) return;
    // wiring: fleet (PostgreSQL down at start: the peers arrive once it is back)
    store_->set_deferred_load_handler([this](std::vector<storage::StoredPeer> peers) {
      asio::post(io_, [this, peers = std::move(peers)]() mutable { seed_routing_table(std::move(peers)); });
    });
    auto peers = store_->load_peers();
    if (!peers) {
      spdlog::error("Could not load stored peers: {}", peers.message());
      return;
    }
    seed_routing_table(std::move(*peers));
  }

  void seed_routing_table(std::vector<storage::StoredPeer> peers) {
    if (stopping_ || warm_start_) return;
    const auto now = Clock::now();
    std::vector<storage::StoredPeer> seeded;
    for (auto& p : peers) {
      if (p.id == host_.local_peer()) continue;
      // Stored peers were admitted before; they answer FIND_NODE at once.
      auto r = kad_.on_peer_identified(p.id, p.addrs, true, now);
      if (r.outcome == kad::UpdateOutcome::kInserted || r.outcome == kad::UpdateOutcome::kUpdated) {
        seeded.push_back(std::move(p));
      }
    }
    spdlog::info("Routing table seeded with {} stored peers", seeded.size());
    // Then find out in the background which of them are still reachable.
    warm_start_ = std::make_unique<WarmStart>(host_, kad_, *store_, WarmStartConfig{});
    warm_start_->start(io_.get_executor(), std::move(seeded));
  }

  // A routing-table peer we could not dial during a lookup. Phones go
  // offline and come back, and a bootstrap node's table is what every client
  // starts from: the failure is recorded in the peer store (reputation), one
  // failure is forgiven, the second in a row removes the peer (the warm start
  // applies the same rule across restarts through the stored reputation).
  void on_unreachable(const PeerId& peer) {
    if (store_) store_->record_dial_failure(peer);
    if (++dial_failures_[peer] >= 2) {
      dial_failures_.erase(peer);
      kad_.on_peer_unreachable(peer);
      spdlog::debug("{} unreachable twice in a row: removed from the routing table", peer.to_base58());
    }
  }

  void on_event(const host::Event& e) {
    if (const auto* est = std::get_if<host::ConnectionEstablished>(&e)) {
      const auto dir = est->direction == host::Direction::kInbound ? http::Direction::kInbound
                                                                   : http::Direction::kOutbound;
      metrics_.opened(dir).inc();
      metrics_.connections(dir).add();
      on_status_connected(*est);
      dial_failures_.erase(est->peer);
      // The remote address of an outbound connection is one we could dial;
      // an inbound one is an ephemeral port (the seed stored it: it is useless).
      if (est->direction == host::Direction::kOutbound && store_ &&
          storable(est->remote_addr, config_.allow_private_addrs)) {
        store_->record_dial_success(est->peer, est->remote_addr);
      }
    } else if (const auto* closed = std::get_if<host::ConnectionClosed>(&e)) {
      const auto dir = closed->direction == host::Direction::kInbound ? http::Direction::kInbound
                                                                      : http::Direction::kOutbound;
      metrics_.closed(dir).inc();
      metrics_.connections(dir).sub();
      on_status_closed(*closed);
      if (closed->remaining_to_peer == 0) last_stored_.erase(closed->peer);
    } else if (const auto* id = std::get_if<host::IdentifyReceived>(&e)) {
      on_identify(*id);
    } else if (const auto* rtt = std::get_if<host::PingRtt>(&e)) {
      spdlog::debug("ping {}: rtt {} us", rtt->peer.to_base58(), rtt->rtt.count());
    }
  }

  // The status page's connection tally and recent events (status.hpp).
  // Per connection it keeps its transport, its address and agent string
  // (both capped) until the connection closes.
  void on_status_connected(const host::ConnectionEstablished& est) {
    if (!config_.http_dashboard) return;
    const bool inbound = est.direction == host::Direction::kInbound;
    const auto t = transport_of(est.remote_addr);
    std::string addr = http::truncate_utf8(est.remote_addr.to_string(), http::kMaxAddressBytes);
    const std::string peer = est.peer.to_base58();
    conn_tally_.opened(inbound, t);
    conn_events_.connected(unix_ms_now(), est.connection_id, inbound, t, peer, addr);
    status_conns_[est.connection_id] = StatusConnection{inbound, t, std::move(addr), {}};
  }

  void on_status_closed(const host::ConnectionClosed& closed) {
    const auto it = status_conns_.find(closed.connection_id);
    if (it == status_conns_.end()) return;
    const auto& c = it->second;
    conn_tally_.closed(c.inbound, c.transport);
    conn_events_.disconnected(unix_ms_now(), closed.connection_id, c.inbound, c.transport,
                              closed.peer.to_base58(), c.address, c.agent, closed.reason);
    status_conns_.erase(it);
  }

  void publish_status(const http::HealthSnapshot& health) {
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

  void on_identify(const host::IdentifyReceived& id) {
    if (auto it = status_conns_.find(id.connection_id); it != status_conns_.end()) {
      it->second.agent = http::truncate_utf8(id.info.agent_version, http::kMaxAgentBytes);
      conn_events_.set_agent(id.connection_id, id.info.agent_version);
    }
    bool supports_kad = false;
    for (const auto& p : id.info.protocols) {
      for (const auto& k : config_.kad_protocols) supports_kad = supports_kad || p == k;
    }
    auto r = kad_.on_peer_identified(id.peer, id.info.listen_addrs, supports_kad, Clock::now());
    if (r.pending) check_eviction_candidate(r.pending->ping);
    // Store what the routing table would admit after a restart (load_stored_peers
    // inserts stored peers as Kademlia servers).
    // Fairness of the peer-store queue: one peer's updates are coalesced to
    // one batch of at most kStoredAddrsPerPeer addresses per
    // kStoreIntervalPerPeer (identify pushes can come often), so no peer can
    // fill the queue other peers need.
    if (store_ && (supports_kad || config_.kad_insert == KadInsert::kAll)) {
      constexpr std::size_t kStoredAddrsPerPeer = 16;
      constexpr auto kStoreIntervalPerPeer = std::chrono::seconds(30);
      const auto now = Clock::now();
      auto [it, first] = last_stored_.try_emplace(id.peer, now);
      if (first || now - it->second >= kStoreIntervalPerPeer) {
        it->second = now;
        std::size_t stored = 0;
        for (const auto& a : id.info.listen_addrs) {
          if (stored >= kStoredAddrsPerPeer) break;
          if (storable(a, config_.allow_private_addrs)) {
            store_->add_peer(id.peer, a.without_peer_id());
            ++stored;
          }
        }
      }
    }
  }

  // Kademlia's rule: a full bucket keeps its least-recently-seen entry if it
  // still answers a ping.
  void check_eviction_candidate(const PeerId& peer) {
    asio::co_spawn(io_, ping_eviction_candidate(peer), asio::detached);
  }

  asio::awaitable<void> ping_eviction_candidate(PeerId peer) {
    bool alive = false;
    try {
      std::vector<std::string> protos{std::string(ping::kProtocol)};
      std::vector<Multiaddr> addrs;
      if (const auto* entry = kad_.routing_table().find(peer)) addrs = entry->addrs;
      auto s = co_await host_.new_stream(peer, std::move(protos), addrs);
      co_await ping::ping_once(*s.stream);
      co_await s.stream->close_write();
      alive = true;
    } catch (const std::exception& e) {
      spdlog::debug("eviction check of {} failed: {}", peer.to_base58(), e.what());
    }
    kad_.resolve_pending(peer, alive, Clock::now());
  }

  void publish_health() {
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
      if (counters.write_failures > last_write_failures_ || counters.failing) {  // h-pg: failing
        s.storage.ok = false;
        s.storage.failure = "peer store writes are failing (" +
                            std::to_string(counters.write_failures) + " failed transactions)";
        degraded_until_ = Clock::now() + std::chrono::seconds(30);
        last_failure_text_ = s.storage.failure;
      } else if (Clock::now() < degraded_until_) {
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
    if (fleet_) s.fleet = fleet_->health();  // wiring: fleet
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

  void publish_relay_metrics() {
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

  static void sync_counter(http::Counter& c, std::uint64_t now_value, std::uint64_t& last) {
    if (now_value > last) c.inc(now_value - last);
    last = now_value;
  }

  asio::awaitable<void> tick_loop() {
    asio::steady_timer t(io_);
    while (!stopping_) {
      t.expires_after(std::chrono::seconds(1));
      std::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_) co_return;
      kad_.expire(Clock::now());
      kad_.set_local_addresses(host_.advertised_addrs());
      publish_health();
    }
  }

  asio::awaitable<void> maintenance_loop() {
    asio::steady_timer t(io_);
    while (!stopping_ && store_) {
      t.expires_after(config_.storage_maintenance_interval);
      std::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_) co_return;
      std::vector<PeerId> connected;
      for (const auto& c : host_.connections()) connected.push_back(c->remote_peer());
      store_->schedule_maintenance(std::move(connected));  // runs on the writer thread
    }
  }

  // Signals an operator commonly sends (README "Signals"): SIGINT, SIGTERM
  // and SIGQUIT stop the node with the same flush; SIGHUP reloads the log
  // level and reopens LOG_FILE; SIGUSR1 and SIGUSR2 log one stats line.
  // None of them ends the node without flushing the peer store.
  asio::awaitable<void> wait_for_signals() {
    asio::signal_set signals(io_, SIGINT, SIGTERM, SIGQUIT);
    signals.add(SIGHUP);
    signals.add(SIGUSR1);
    signals.add(SIGUSR2);
    std::error_code ec;
    int sig = 0;
    for (;;) {
      sig = co_await signals.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      if (sig == SIGHUP) {
        spdlog::info("Received SIGHUP: {}", reload_logging(config_, ProcessEnv{}));
      } else if (sig == SIGUSR1 || sig == SIGUSR2) {
        spdlog::info("Received {}: {}", sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2", stats_line());
      } else {
        break;
      }
    }
    spdlog::info("Received {}, shutting down (a second signal exits at once)", signal_name(sig));
    stopping_ = true;
    if (warm_start_) warm_start_->stop();
    if (dht_) dht_->stop();
    host_.shutdown();
    autonat_->shutdown();  // h-nat: dial-back connections of the AutoNAT dialer
    // A second stop signal exits at once; SIGHUP/SIGUSR* are ignored now.
    signals.remove(SIGHUP);
    signals.remove(SIGUSR1);
    signals.remove(SIGUSR2);
    for (int s : {SIGHUP, SIGUSR1, SIGUSR2}) std::signal(s, SIG_IGN);
    signals.async_wait([](std::error_code e, int) {
      if (!e) std::_Exit(130);
    });
    // Give GoAway frames a moment to leave, then stop the loop.
    asio::steady_timer t(io_, std::chrono::milliseconds(300));
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    io_.stop();
  }

  static const char* signal_name(int sig) {
    switch (sig) {
      case SIGINT:
        return "SIGINT";
      case SIGQUIT:
        return "SIGQUIT";
      default:
        return "SIGTERM";
    }
  }

  // One line for SIGUSR1/SIGUSR2: what an operator checks first.
  std::string stats_line() {
    std::string line = fmt::format("stats: {} connections, {} connected peers, routing table {}",
                                   host_.connections().size(), host_.connected_peer_count(),
                                   kad_.routing_table().size());
    if (store_) {
      const auto c = store_->counters();
      const auto st = store_->last_stats();
      line += fmt::format(", store queue {}/{}, {} stored peers, {} write failures", c.queue_depth,
                          c.queue_capacity, st.total_peers, c.write_failures);
    }
    return line;
  }

  const Config& config_;
  asio::io_context io_{1};
  host::Host host_;
  identify::Service identify_;  // identify and ping on every connection
  ping::Service ping_;
  std::unique_ptr<relay::Relay> relay_;  // null when RELAY_ENABLED=false
  std::unique_ptr<autonat::AutonatServer> autonat_;
  std::array<std::uint64_t, 6> last_relay_{};
  kad::Kademlia kad_;
  std::unique_ptr<kad::DhtService> dht_;
  std::unordered_map<PeerId, int> dial_failures_;  // consecutive, per peer (see on_unreachable)
  std::unique_ptr<storage::PeerStore> store_;  // h-pg: either engine
  http::MetricRegistry registry_;
  // When each connected peer's addresses last went to the store (on_identify).
  std::unordered_map<PeerId, Clock::time_point> last_stored_;
  http::NodeMetrics metrics_;
  http::HttpMetrics http_metrics_;  // counted on the HTTP thread
  http::HealthState health_;
  // The status page (publish_status), all on the network thread.
  struct StatusConnection {
    bool inbound = true;
    http::Transport transport = http::Transport::kOther;
    std::string address;
    std::string agent;
  };
  std::unordered_map<std::uint64_t, StatusConnection> status_conns_;
  http::ConnectionTally conn_tally_;
  http::ConnectionHistory conn_history_;
  http::ConnectionEvents conn_events_;
  http::StatusState status_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<WarmStart> warm_start_;  // set by load_stored_peers
  std::unique_ptr<FleetService> fleet_;  // wiring: fleet (DATABASE_URL only)
  MisbehaviourSummary summary_;
  bool stopping_ = false;
  std::uint64_t last_write_failures_ = 0, last_queue_refusals_ = 0, last_failures_metric_ = 0,
                last_batches_ = 0, last_bytes_in_ = 0, last_bytes_out_ = 0;
  std::array<std::uint64_t, 6> last_kad_{};
  Clock::time_point degraded_until_{};
  std::string last_failure_text_;
};

}  // namespace

int run_node(const Config& config) {
  // Order matters (two first starts on one empty DATA_DIR must not each
  // write a key): the directory, its lock, then the identity, then the store.
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create DATA_DIR {}: {}", config.data_dir.string(), ec.message());
    return 1;
  }
  auto lock = storage::DataDirLock::acquire(config.data_dir);
  if (!lock) {
    spdlog::error("{}", lock.message());
    return 1;
  }
  auto identity = node_identity(config);
  if (auto* err = std::get_if<IdentityError>(&identity)) {
    spdlog::error("{}", err->message);
    return err->exit_code;
  }
  // --- h-pg: DATABASE_URL selects PostgreSQL, else SQLite in DATA_DIR ---
  std::unique_ptr<storage::PeerStore> store;
  if (!config.database_url.empty()) {
    storage::PgPeerStoreConfig pcfg;
    pcfg.url = config.database_url;
    pcfg.seen_by = PeerId::from_public_key(std::get<Ed25519KeyPair>(identity).public_key()).to_base58();
    pcfg.batch.peer_max_age_secs = config.peer_max_age.count();
    auto pg = storage::PgPeerStore::open(std::move(pcfg));
    if (!pg) {
      spdlog::error("{}", pg.message());
      return 1;
    }
    store = std::move(*pg);
  } else {
    storage::SqlitePeerStoreConfig scfg;
    scfg.data_dir = config.data_dir;
    scfg.peer_max_age_secs = config.peer_max_age.count();
    scfg.lock_data_dir = false;  // held above, for the life of the process
    auto sqlite = storage::SqlitePeerStore::open(scfg);
    if (!sqlite) {
      spdlog::error("{}", sqlite.message());
      return 1;
    }
    store = std::move(*sqlite);
  }
  // --- end h-pg ---
  Node node(config, std::move(std::get<Ed25519KeyPair>(identity)), std::move(store));
  return node.run();
}

}  // namespace mp::app

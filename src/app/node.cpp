// Node: construction, start/run/stop/close, and the host's events handed to
// the modules that follow them (node.hpp).
#include "app/node.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "app/fleet_service.hpp"
#include "app/node_config.hpp"
#include "app/reverification.hpp"
#include "app/warm_start.hpp"
#include "autonat/server.hpp"
#include "http/http_server.hpp"
#include "kad/dht_service.hpp"
#include "kad/eviction_ping.hpp"
#include "kad/server.hpp"
#include "relay/relay.hpp"
#include "storage/peer_store.hpp"

namespace mp::app {
namespace {

// A named coroutine: GCC 12 miscompiles coroutine lambdas taking arguments by value.
// Runs on the connection's thread; `owner` (the host's executor) owns `k`.
asio::awaitable<void> serve_kad(kad::Kademlia& k, asio::any_io_executor owner, host::StreamContext ctx) {
  co_await kad::serve_stream(k, std::move(owner), ctx.stream, ctx.connection->remote_peer(),
                             ctx.connection->remote_ip());
}

}  // namespace

Node::Node(Config config, Ed25519KeyPair identity, std::unique_ptr<storage::PeerStore> store)
    : config_(std::move(config)),
      // NETWORK_THREADS >= 2: that many network threads hold the inbound TCP
      // connections, this thread (io_) and N - 1 more; this one also owns
      // everything they share. (One thread of each kind, N + 1 in all, cost
      // about 15% more CPU per setup on two cores: more switches, more wake-ups.)
      network_(config_.network_threads > 1
                   ? std::make_unique<net::ContextPool>(config_.network_threads - 1)
                   : nullptr),
      host_(io_.get_executor(), host_config(config_), identity,
            network_executors()),
      identify_(host_),
      ping_(host_),
      kad_(host_.local_peer(), kad_config(config_), kad::Clock::now()),
      store_(std::move(store)),
      metrics_(registry_, MP_VERSION),
      http_metrics_(registry_) {
  // Bootstrap peers, the first self-lookup and the periodic refresh (started in start()).
  kad::DhtServiceConfig dcfg;
  dcfg.bootstrap_peers = config_.bootstrap_peers;
  dcfg.on_unreachable = [this](const PeerId& p) { on_unreachable(p); };
  dht_ = std::make_unique<kad::DhtService>(io_.get_executor(), host_, kad_, std::move(dcfg));
  autonat::AutonatConfig acfg;
  acfg.allow_private = config_.allow_private_addrs;
  autonat_ = std::make_unique<autonat::AutonatServer>(io_.get_executor(), host_, acfg);
  if (config_.relay_enabled) {
    relay_ = std::make_unique<relay::Relay>(io_.get_executor(), host_, identity, relay_limits(config_));
  }
  add_metric_collectors();
}

std::vector<asio::any_io_executor> Node::network_executors() {
  if (!network_) return {};
  std::vector<asio::any_io_executor> out{io_.get_executor()};
  for (auto& e : network_->executors()) out.push_back(e);
  return out;
}

Node::~Node() {
  // The network threads end before anything they use goes.
  if (network_) network_->stop();
}

std::uint16_t Node::http_port() const { return http_ ? http_->port() : 0; }

Status Node::start() {
  if (auto st = host_.listen(config_.listen_addrs_defaulted); !st) return st;
  for (const auto& p : config_.kad_protocols) {
    // FIND_NODE is answered on the connection's thread from the published
    // snapshot; other requests hop to the host's executor (kad/server.hpp).
    host_.set_handler(
        p, [this](host::StreamContext ctx) { return serve_kad(kad_, host_.executor(), std::move(ctx)); },
        host::HandlerThread::kConnection);
  }
  if (relay_) relay_->install();  // hop protocol, reservations follow connection closes
  autonat_->install();            // AutoNAT v1 server (dial-backs on new connections)
  kad_.set_local_addresses(host_.advertised_addrs());
  kad_.set_connectedness([this](const PeerId& p) {
    return host_.connection_to(p) ? kad::pb::Message_ConnectionType_CONNECTED
                                  : kad::pb::Message_ConnectionType_NOT_CONNECTED;
  });
  host_.events().subscribe([this](const host::Event& e) { on_event(e); });

  start_reverification();  // before the load: it follows the loaded reputations
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
    return make_error("HTTP server: " + st.message());
  }
  spdlog::info("HTTP server listening on {}:{} (/health, /metrics{})", config_.health_bind, http_->port(),
               config_.http_dashboard ? ", status page /" : "");

  dht_->start();
  start_fleet();
  asio::co_spawn(io_, tick_loop(), asio::detached);
  asio::co_spawn(io_, maintenance_loop(), asio::detached);
  watch_misbehaviour();
  asio::co_spawn(io_, summary_loop(), asio::detached);
  return Status::Ok();
}

int Node::run() {
  if (auto st = start(); !st) {
    spdlog::error("{}", st.message());
    return 1;
  }
  asio::co_spawn(io_, wait_for_signals(), asio::detached);
  io_.run();
  // Shutdown: flush every queued write before exit.
  if (auto st = close(); !st) {
    spdlog::error("{}", st.message());
    return 1;
  }
  spdlog::info("Bye");
  return 0;
}

void Node::stop() {
  stopping_ = true;
  if (warm_start_) warm_start_->stop();
  if (reverify_) reverify_->stop();
  if (dht_) dht_->stop();
  host_.shutdown();
  autonat_->shutdown();  // dial-back connections of the AutoNAT dialer
}

Status Node::close() {
  if (network_) network_->stop();
  if (http_) http_->stop();
  if (fleet_) fleet_->stop();
  if (store_) {
    auto st = store_->close();
    if (!st) return make_error("Peer store did not flush cleanly: " + st.message());
    spdlog::info("Peer store flushed and closed");
  }
  return Status::Ok();
}

// Fleet mode (PostgreSQL only): our heartbeat in bootstrap_nodes, dials to
// the other members, and the peers they learned pulled into the routing table.
void Node::start_fleet() {
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
  if (warm_start_) fleet_->set_verification_set(warm_start_->peers());  // wiring: fleet sharding
  if (reverify_) {
    fleet_->set_reputation_handler(
        [rv = reverify_.get()](const PeerId& p, double r) { rv->book().set_reputation(p, r); });
  }
  fleet_->start();
}

// Periodic re-verification of the routing table's peers (reverification.hpp),
// one round at a time, never while the warm start dials; in fleet mode the
// same shard filter as the warm start, asked at dial time.
void Node::start_reverification() {
  if (!store_ || config_.reverify_interval.count() <= 0) return;
  ReverifyConfig r;
  r.interval = config_.reverify_interval;
  reverify_ = std::make_unique<Reverification>(host_, kad_, *store_, r);
  reverify_->set_shard_filter([this](const PeerId& p) { return !fleet_ || fleet_->owns(p); });
  reverify_->set_busy([this] { return warm_start_ && warm_start_->running(); });
  registry_.add_collector([rv = reverify_.get()](std::string& out) { out += rv->metrics_text(); });
  reverify_->start(io_.get_executor());
}

void Node::on_event(const host::Event& e) {
  if (const auto* est = std::get_if<host::ConnectionEstablished>(&e)) {
    // Connection counts by transport are the host's (app/host_metrics).
    on_status_connected(*est);
    dial_failures_.reached(est->peer);
    store_dial_success(*est);
    // FIND_NODE answers say CONNECTED from the next routing-table snapshot.
    if (est->connections_to_peer == 1) kad_.on_connectedness_changed(est->peer);
  } else if (const auto* closed = std::get_if<host::ConnectionClosed>(&e)) {
    on_status_closed(*closed);
    if (closed->remaining_to_peer == 0) {
      last_stored_.erase(closed->peer);
      kad_.on_connectedness_changed(closed->peer);
      // Seen until now: due for re-verification one interval from here.
      if (reverify_ && kad_.routing_table().contains(closed->peer)) {
        reverify_->book().seen(closed->peer, kad::Clock::now());
      }
    }
  } else if (const auto* id = std::get_if<host::IdentifyReceived>(&e)) {
    on_identify(*id);
  } else if (const auto* rtt = std::get_if<host::PingRtt>(&e)) {
    spdlog::debug("ping {}: rtt {} us", rtt->peer.to_base58(), rtt->rtt.count());
  }
}

void Node::on_identify(const host::IdentifyReceived& id) {
  on_status_identified(id);
  bool supports_kad = false;
  for (const auto& p : id.info.protocols) {
    for (const auto& k : config_.kad_protocols) supports_kad = supports_kad || p == k;
  }
  auto r = kad_.on_peer_identified(id.peer, id.info.listen_addrs, supports_kad, kad::Clock::now());
  if (r.pending) {
    asio::co_spawn(io_, kad::ping_eviction_candidate(host_, kad_, r.pending->ping), asio::detached);
  }
  store_identified(id, supports_kad);
  if (reverify_ && kad_.routing_table().contains(id.peer)) reverify_->book().seen(id.peer, kad::Clock::now());
}

}  // namespace mp::app

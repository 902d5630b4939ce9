// Node: the bootstrap node itself, the composition root. Wires the libp2p
// host, its services (identify, ping, Kademlia, the relay, AutoNAT), the
// peer store and the HTTP side together according to a Config. Policy lives
// in the modules (kad::DialFailures, kad::ping_eviction_candidate, each
// module's metrics); the node only connects their events and counters.
// Data flows one way: host events -> protocol logic -> peer store; the
// network thread never waits on disk.
//
// The process runs one through run_node(). A test builds one on its own
// (any Config, identity and PeerStore), start()s it, drives io() and the
// node's addresses, then stop()s and close()s it:
//
//   Node node(config, Ed25519KeyPair::generate(), std::move(store));
//   ASSERT_TRUE(node.start().ok());
//   ... run node.io() with a peer dialing node.listen_addrs() ...
//   node.stop();  // on the network thread
//   ASSERT_TRUE(node.close().ok());  // after io() has stopped: flushes the store
//
// Files: node.cpp (construction, start/run/stop/close, events), node_config
// (Config -> the modules' configs), node_metrics.cpp (/metrics collectors,
// the once-a-second health and metrics publishing, misbehaviour summary),
// node_status.cpp (the status page), node_storage.cpp (opening the store,
// loading it, writing identify and dial results through), node_signals.cpp
// (signals, stats line, run_node).
#pragma once

#include <array>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "app/config.hpp"
#include "app/misbehaviour_summary.hpp"
#include "core/keys.hpp"
#include "core/result.hpp"
#include "host/host.hpp"
#include "http/health.hpp"
#include "http/http_metrics.hpp"
#include "http/metrics.hpp"
#include "http/node_metrics.hpp"
#include "http/status.hpp"
#include "identify/service.hpp"
#include "kad/dial_failures.hpp"
#include "kad/kademlia.hpp"
#include "net/context_pool.hpp"
#include "ping/service.hpp"

namespace mp::autonat {
class AutonatServer;
}
namespace mp::http {
class HttpServer;
}
namespace mp::kad {
class DhtService;
}
namespace mp::relay {
class Relay;
}
namespace mp::storage {
class PeerStore;
struct StoredPeer;
}

namespace mp::app {

class WarmStart;
class Reverification;
class FleetService;

class Node {
 public:
  // `store` may be null (no peer store: nothing loaded, nothing written).
  Node(Config config, Ed25519KeyPair identity, std::unique_ptr<storage::PeerStore> store);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Listens, installs the protocol handlers, seeds the routing table from
  // the store, starts the HTTP endpoint and the background loops. Logs
  // "Local peer id", "Listening on", "HTTP server listening". An error
  // (a listen address or the HTTP port cannot be bound) names what failed.
  Status start();

  // The process: start(), then the network thread until a stop signal
  // (README "Signals"), then close(). Returns the exit code: 0 after a clean
  // shutdown, 1 when start() or the store's flush failed.
  int run();

  // Starts the shutdown on the network thread: no new lookups or dials,
  // every connection closed (GoAway), the loops end at their next tick.
  void stop();

  // After the network thread has stopped: stops HTTP, flushes and closes the
  // peer store. An error says what could not be written.
  Status close();

  asio::io_context& io() { return io_; }
  const PeerId& local_peer() const { return host_.local_peer(); }
  // The addresses actually bound (a port 0 resolved).
  const std::vector<Multiaddr>& listen_addrs() const { return host_.listen_addrs(); }
  // The HTTP endpoint's bound port, after start().
  std::uint16_t http_port() const;
  // What GET /metrics answers.
  std::string metrics_text() const { return registry_.render(); }
  const host::Host& host() const { return host_; }
  const kad::Kademlia& kad() const { return kad_; }

 private:
  // node.cpp
  std::vector<asio::any_io_executor> network_executors();
  void on_event(const host::Event& e);
  void on_identify(const host::IdentifyReceived& id);
  // node_metrics.cpp
  void add_metric_collectors();
  void watch_misbehaviour();
  asio::awaitable<void> summary_loop();
  asio::awaitable<void> tick_loop();
  void publish_health();
  void publish_relay_metrics();
  // node_status.cpp
  void on_status_connected(const host::ConnectionEstablished& est);
  void on_status_closed(const host::ConnectionClosed& closed);
  void on_status_identified(const host::IdentifyReceived& id);
  void publish_status(const http::HealthSnapshot& health);
  // node_storage.cpp
  void load_stored_peers();
  void seed_routing_table(std::vector<storage::StoredPeer> peers);
  void start_fleet();  // node.cpp; DATABASE_URL only
  void start_reverification();  // with a peer store and REVERIFY_INTERVAL_SECS > 0
  void store_identified(const host::IdentifyReceived& id, bool supports_kad);
  void store_dial_success(const host::ConnectionEstablished& est);
  void on_unreachable(const PeerId& peer);
  asio::awaitable<void> maintenance_loop();
  // node_signals.cpp
  asio::awaitable<void> wait_for_signals();
  std::string stats_line();

  const Config config_;
  // Before io_: handlers still queued on io_ when it goes may hold sockets of
  // the network threads' contexts, which must outlive them.
  std::unique_ptr<net::ContextPool> network_;
  asio::io_context io_{1};
  host::Host host_;
  identify::Service identify_;  // identify and ping on every connection
  ping::Service ping_;
  std::unique_ptr<relay::Relay> relay_;  // null when RELAY_ENABLED=false
  std::unique_ptr<autonat::AutonatServer> autonat_;
  kad::Kademlia kad_;
  std::unique_ptr<kad::DhtService> dht_;
  kad::DialFailures dial_failures_;  // the "unreachable twice" rule (on_unreachable)
  std::unique_ptr<storage::PeerStore> store_;
  http::MetricRegistry registry_;
  // When each connected peer's addresses last went to the store (store_identified).
  std::unordered_map<PeerId, kad::Clock::time_point> last_stored_;
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
  std::unique_ptr<FleetService> fleet_;    // DATABASE_URL only
  std::unique_ptr<Reverification> reverify_;  // with a peer store and REVERIFY_INTERVAL_SECS > 0
  MisbehaviourSummary summary_;
  bool stopping_ = false;
  // The metrics bridge (publish_health): the totals last copied from the
  // modules' counters into NodeMetrics.
  std::uint64_t last_write_failures_ = 0, last_queue_refusals_ = 0, last_failures_metric_ = 0,
                last_batches_ = 0, last_bytes_in_ = 0, last_bytes_out_ = 0;
  std::array<std::uint64_t, 6> last_kad_{};
  std::array<std::uint64_t, 6> last_relay_{};
  kad::Clock::time_point degraded_until_{};
  std::string last_failure_text_;
};

// Runs the node; returns the process exit code (0 after a clean shutdown).
int run_node(const Config& config);

}  // namespace mp::app

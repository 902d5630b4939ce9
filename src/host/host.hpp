// Host: the libp2p node's connection layer. A transport (TcpTransport:
// TCP upgraded with multistream-select -> Noise XX -> multistream-select ->
// Yamux) hands it authenticated, multiplexed connections (transport.hpp);
// the host keeps the registry (connection limits, events, idle timeouts) and
// dispatches inbound streams to protocol handlers by multistream-select.
// Protocols, Identify and Ping included (identify/service.hpp,
// ping/service.hpp), are services that register handlers with set_handler
// and follow connections through events().
//
// Threading: everything runs on one io_context thread; handlers and event
// subscribers are called on it and must not block.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "host/events.hpp"
#include "host/handshake_table.hpp"
#include "host/limits.hpp"
#include "host/resource_budget.hpp"
#include "host/stats.hpp"
#include "host/transport.hpp"
#include "net/byte_stream.hpp"


namespace mp::host {

class Connection;
class Host;
class TcpTransport;

// A stream whose protocol has been agreed.
struct NegotiatedStream {
  std::shared_ptr<net::ByteStream> stream;
  std::string protocol;
};

struct StreamContext {
  std::shared_ptr<net::ByteStream> stream;
  std::shared_ptr<Connection> connection;
  std::string protocol;
};
using StreamHandler = std::function<asio::awaitable<void>(StreamContext)>;

struct HostConfig {
  std::vector<Multiaddr> listen_addrs;
  std::string protocol_version = "/mepassa/1.0.0";
  std::string agent_version = std::string("mepassa-bootstrap/") + MP_VERSION;
  Limits limits;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};   // the Rust node's idle_connection_timeout
  std::chrono::milliseconds ping_interval{15'000};  // rust-libp2p ping default
  std::chrono::milliseconds ping_timeout{20'000};
  std::chrono::milliseconds stream_negotiation_timeout{10'000};
  std::chrono::milliseconds dial_timeout{10'000};
  // MAX_MEMORY_MB: what peers may make us hold (Yamux buffers and queues,
  // parsed identify), per node; narrower scopes are derived from it.
  std::size_t max_memory_bytes = std::size_t{512} << 20;
  // Inbound sockets still in the handshakes (MAX_HANDSHAKES,
  // MAX_HANDSHAKES_PER_IP), apart from established connections.
  std::size_t max_handshakes = 256;
  std::size_t max_handshakes_per_ip = 32;
  // The first multistream-select exchange of an inbound socket must be done
  // by then (a slowloris socket sends a few bytes and stalls).
  std::chrono::milliseconds handshake_first_exchange_timeout{3'000};
  // A write of a protocol handler (its answer) that cannot complete by then
  // resets the stream.
  std::chrono::milliseconds answer_timeout{10'000};
  // Identify pushes per connection: a burst, then one per interval.
  std::size_t identify_push_burst = 3;
  std::chrono::milliseconds identify_push_interval{10'000};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  std::uint64_t id() const { return id_; }
  const PeerId& remote_peer() const { return peer_; }
  const PublicKey& remote_public_key() const { return remote_key_; }
  Direction direction() const { return direction_; }
  // The remote's socket address (for inbound connections an ephemeral port:
  // never store it as a dialable address).
  const Multiaddr& remote_addr() const { return remote_addr_; }
  const Multiaddr& local_addr() const { return local_addr_; }
  const std::string& remote_ip() const { return remote_ip_; }
  std::chrono::steady_clock::time_point established_at() const { return established_at_; }
  // This connection's share of the ResourceBudget (what a service keeps per
  // connection is reserved here); nullptr once the muxer is gone.
  ConnectionAccount* memory() const { return muxed_ ? &muxed_->memory() : nullptr; }
  bool is_open() const { return open_; }
  std::size_t stream_count() const;
  // A connection kept alive is never closed by the idle timeout (a relay
  // keeps the connection of a peer holding a reservation open).
  void set_keep_alive(bool on) { keep_alive_ = on; }
  bool keep_alive() const { return keep_alive_; }

  // Opens a stream and negotiates one of `protocols` (in order of preference).
  asio::awaitable<NegotiatedStream> open_stream(std::vector<std::string> protocols);
  // Says GoAway and closes the connection.
  void close(const std::string& reason);

 private:
  friend class Host;
  Host* host_ = nullptr;
  std::uint64_t id_ = 0;
  PeerId peer_;
  PublicKey remote_key_;
  Direction direction_ = Direction::kInbound;
  Multiaddr remote_addr_;
  Multiaddr local_addr_;
  std::string remote_ip_;
  std::shared_ptr<MuxedConnection> muxed_;
  std::chrono::steady_clock::time_point established_at_;
  std::chrono::steady_clock::time_point last_busy_;
  std::uint64_t streams_refused_seen_ = 0;  // session's refused SYNs already counted
  bool open_ = true;
  bool keep_alive_ = false;
  std::string close_reason_;
};

class Host {
  friend class Connection;
  friend class TcpTransport;  // asks the limits and the budget, registers what it accepts

 public:
  Host(asio::any_io_executor executor, HostConfig config, const Ed25519KeyPair& identity);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const PeerId& local_peer() const { return local_peer_; }
  const PublicKey& local_public_key() const { return local_key_; }
  const asio::any_io_executor& executor() const { return executor_; }
  const HostConfig& config() const { return config_; }
  EventBus& events() { return events_; }
  HostStats& stats() { return stats_; }
  const HostStats& stats() const { return stats_; }
  const ConnectionLimits& limits() const { return limits_; }
  const ResourceBudget& budget() const { return *budget_; }
  std::size_t handshakes_in_progress() const;

  // Binds every configured listen address and starts accepting. On failure
  // returns an error naming the address; with `ipv6_optional`, an IPv6
  // address that cannot be bound (no IPv6 on this machine) is skipped with a
  // warning instead.
  Status listen(bool ipv6_optional = false);
  // Addresses we listen on, with real ports, unspecified addresses expanded to
  // the machine's interface addresses (without /p2p/).
  const std::vector<Multiaddr>& listen_addrs() const;
  // Addresses we tell others about (identify).
  std::vector<Multiaddr> advertised_addrs() const;
  // Extra addresses to advertise (e.g. external addresses set by the operator).
  void add_external_addr(const Multiaddr& addr);

  // Inbound streams that negotiate `protocol` go to `handler` (replacing any
  // earlier one). A service that registers handlers removes them when it goes.
  void set_handler(std::string protocol, StreamHandler handler);
  void remove_handler(const std::string& protocol);
  std::vector<std::string> protocols() const;

  // Dials `addr` (/ip4|ip6|dns|dns4|dns6/.../tcp/N[/p2p/ID]). When a /p2p/ is
  // present or `expected` is set, the Noise handshake must prove that peer.
  // Reuses an existing connection to that peer unless `force_new` (AutoNAT
  // dial-backs must prove a fresh connection works). Throws on failure.
  asio::awaitable<std::shared_ptr<Connection>> dial(Multiaddr addr,
                                                    std::optional<PeerId> expected = std::nullopt,
                                                    bool force_new = false);
  // Opens a protocol stream to `peer` on an existing connection, or dials one
  // of `addrs` first. Throws if neither works.
  asio::awaitable<NegotiatedStream> new_stream(const PeerId& peer,
                                               std::vector<std::string> protocols,
                                               const std::vector<Multiaddr>& addrs = {});

  std::shared_ptr<Connection> connection_to(const PeerId& peer) const;
  // The open connection with that id (ConnectionEstablished::connection_id), or nullptr.
  std::shared_ptr<Connection> connection(std::uint64_t id) const;
  std::vector<std::shared_ptr<Connection>> connections() const;
  std::size_t connected_peer_count() const { return by_peer_.size(); }

  // Graceful stop: stop accepting, GoAway every connection, close them.
  void shutdown();

 private:
  // The registry: takes a connection a transport secured (limits were
  // checked by the transport before it built the muxer), publishes it and
  // starts its streams.
  std::shared_ptr<Connection> register_connection(SecuredConnection secured);
  void on_connection_closed(const std::shared_ptr<Connection>& conn, const std::string& reason);
  asio::awaitable<void> handle_inbound_stream(std::shared_ptr<Connection> conn,
                                              std::shared_ptr<net::ByteStream> stream);
  // The idle timeout: one timer for the whole registry, running while it
  // holds connections.
  void start_idle_sweep();
  asio::awaitable<void> idle_sweep(std::shared_ptr<asio::steady_timer> timer);
  // Adds the Yamux session's refused SYNs (over max_streams) to the stats.
  void sync_stream_refusals(Connection& conn);

  asio::any_io_executor executor_;
  HostConfig config_;
  PeerId local_peer_;
  PublicKey local_key_;
  ConnectionLimits limits_;
  std::shared_ptr<ResourceBudget> budget_;
  EventBus events_;
  HostStats stats_;
  std::map<std::string, StreamHandler> handlers_;
  std::vector<Multiaddr> external_addrs_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::unordered_map<PeerId, std::vector<std::shared_ptr<Connection>>> by_peer_;
  std::uint64_t next_connection_id_ = 1;
  bool shutting_down_ = false;
  std::shared_ptr<asio::steady_timer> idle_timer_;  // set while the sweep runs
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<TcpTransport> transport_;  // last: built from the members above
};

}  // namespace mp::host

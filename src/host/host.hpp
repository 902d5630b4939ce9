// Host: the libp2p node's connection layer, a thin façade over four parts:
//  - a transport (TcpTransport: TCP upgraded with multistream-select ->
//    Noise XX -> multistream-select -> Yamux) that hands over
//    authenticated, multiplexed connections (transport.hpp);
//  - the ConnectionRegistry (connection_registry.hpp): limits, per-peer
//    lists, events, the idle timeout;
//  - the StreamDispatch (stream_dispatch.hpp): inbound streams to protocol
//    handlers by multistream-select;
//  - the ResourceBudget, what peers may make us hold.
// Protocols, Identify and Ping included (identify/service.hpp,
// ping/service.hpp), are services that register handlers with set_handler
// and follow connections through events().
//
// Threading: the host, its registry, its events and every service run on
// one io_context (the executor given, the owner); handlers and event
// subscribers are called on it and must not block. Given `network` executors
// (NETWORK_THREADS >= 2), inbound TCP and QUIC connections are spread over
// them, one each in turn: a connection's socket (QUIC: its ngtcp2
// connection), Noise, Yamux and its streams stay on its executor; it reaches
// the owner by messages (ARCHITECTURE.md "Threads").
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"
#include "host/connection.hpp"
#include "host/connection_registry.hpp"
#include "host/events.hpp"
#include "host/host_config.hpp"
#include "host/limits.hpp"
#include "host/resource_budget.hpp"
#include "host/stats.hpp"
#include "host/stream_dispatch.hpp"

namespace mp::quic {
class QuicTransport;
}

namespace mp::host {

class TcpTransport;

class Host {
  friend class TcpTransport;  // asks the limits and the budget, registers what it accepts
  friend class quic::QuicTransport;  // the same, for QUIC

 public:
  Host(asio::any_io_executor executor, HostConfig config, const Ed25519KeyPair& identity,
       std::vector<asio::any_io_executor> network = {});
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const PeerId& local_peer() const { return local_peer_; }
  const PublicKey& local_public_key() const { return local_key_; }
  const asio::any_io_executor& executor() const { return executor_; }
  const HostConfig& config() const { return config_; }
  EventBus& events() { return registry_.events(); }
  HostStats& stats() { return stats_; }
  const HostStats& stats() const { return stats_; }
  const ConnectionLimits& limits() const { return registry_.limits(); }
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
  // Addresses we tell others about (identify). Any thread.
  std::vector<Multiaddr> advertised_addrs() const;
  // Extra addresses to advertise (e.g. external addresses set by the operator).
  void add_external_addr(const Multiaddr& addr);

  // Inbound streams that negotiate `protocol` go to `handler` (replacing any
  // earlier one). A service that registers handlers removes them when it goes.
  // `where`: see HandlerThread (stream_dispatch.hpp).
  void set_handler(std::string protocol, StreamHandler handler,
                   HandlerThread where = HandlerThread::kHost) {
    dispatch_.set_handler(std::move(protocol), std::move(handler), where);
  }
  void remove_handler(const std::string& protocol) { dispatch_.remove_handler(protocol); }
  std::vector<std::string> protocols() const { return dispatch_.protocols(); }

  // Dials `addr` (/ip4|ip6|dns|dns4|dns6/.../tcp/N[/p2p/ID], or
  // /ip4|ip6/.../udp/N/quic-v1[/p2p/ID]). When a /p2p/ is present or
  // `expected` is set, the Noise (or TLS) handshake must prove that peer.
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

  std::shared_ptr<Connection> connection_to(const PeerId& peer) const {
    return registry_.connection_to(peer);
  }
  // The open connection with that id (ConnectionEstablished::connection_id), or nullptr.
  std::shared_ptr<Connection> connection(std::uint64_t id) const { return registry_.connection(id); }
  std::vector<std::shared_ptr<Connection>> connections() const { return registry_.connections(); }
  std::size_t connected_peer_count() const { return registry_.connected_peer_count(); }

  // The executors connections live on in turn (empty: all on executor()).
  const std::vector<asio::any_io_executor>& network_executors() const { return network_; }

  // Graceful stop: stop accepting, GoAway every connection, close them.
  void shutdown();

 private:
  // Admits an inbound handshake from `ip` on `transport` under the one
  // HandshakeTable (MAX_HANDSHAKES, MAX_HANDSHAKES_PER_IP cover TCP and QUIC
  // together); counts a refusal, and ends the handshake the table evicted
  // for it, on whichever transport holds that one.
  HandshakeAdmission admit_handshake(const std::string& ip, Transport transport);
  // Where the next inbound TCP or QUIC connection lives: the network executors in
  // turn, or ours without them.
  asio::any_io_executor next_connection_executor();
  // The index of `ex` among the network executors, or -1.
  int network_thread_of(const asio::any_io_executor& ex) const;

  asio::any_io_executor executor_;
  std::vector<asio::any_io_executor> network_;
  std::size_t next_network_ = 0;
  HostConfig config_;
  PeerId local_peer_;
  PublicKey local_key_;
  std::shared_ptr<ResourceBudget> budget_;
  HostStats stats_;
  StreamDispatch dispatch_;
  ConnectionRegistry registry_;  // after dispatch_: hands it inbound streams
  mutable std::mutex addrs_mutex_;  // external_addrs_ and listen_addrs_: read on any thread
  std::vector<Multiaddr> external_addrs_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<TcpTransport> transport_;  // last: built from the members above
  // QUIC transport and the listen addresses of both transports.
  std::unique_ptr<quic::QuicTransport> quic_;
  std::vector<Multiaddr> listen_addrs_;
 public:
  const quic::QuicTransport& quic() const { return *quic_; }
};

}  // namespace mp::host

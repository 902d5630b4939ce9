// ConnectionRegistry: the connections a host holds. It owns the admission
// bookkeeping (ConnectionLimits: total, per IP, per peer; the transport asks
// it before and after the handshakes; the HandshakeTable, handshakes in
// progress on every transport), the per-peer lists, the connection
// events (ConnectionEstablished, ConnectionClosed on events()), the idle
// timeout (one sweep timer while it holds connections) and the count of
// streams Yamux refused over the per-connection limit.
//
// Threading: a registry has one owner executor and is reached only from it;
// the connections it holds live on that executor too. Connections spread
// over several io_contexts would mean one registry per context, or messages
// to the owner, never a lock: there is no global mutable state here.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/peer_id.hpp"
#include "host/connection.hpp"
#include "host/events.hpp"
#include "host/handshake_table.hpp"
#include "host/host_config.hpp"
#include "host/limits.hpp"
#include "host/stats.hpp"
#include "host/transport.hpp"
#include "net/byte_stream.hpp"

namespace mp::host {

class ConnectionRegistry {
 public:
  // Receives each stream a remote opens on a registered connection.
  using InboundStream =
      std::function<void(std::shared_ptr<Connection>, std::shared_ptr<net::ByteStream>)>;

  ConnectionRegistry(asio::any_io_executor executor, const HostConfig& config, HostStats& stats,
                     InboundStream on_inbound);
  ~ConnectionRegistry();
  ConnectionRegistry(const ConnectionRegistry&) = delete;
  ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;

  // Takes a connection a transport secured (its limits were asked before the
  // muxer was built), starts its streams and publishes ConnectionEstablished.
  std::shared_ptr<Connection> add(SecuredConnection secured);

  ConnectionLimits& limits() { return limits_; }
  const ConnectionLimits& limits() const { return limits_; }
  // Inbound handshakes in progress, TCP and QUIC together (Host::admit_handshake).
  HandshakeTable& handshakes() { return handshakes_; }
  const HandshakeTable& handshakes() const { return handshakes_; }
  EventBus& events() { return events_; }

  // The open connection with that id, or nullptr.
  std::shared_ptr<Connection> connection(std::uint64_t id) const;
  // An open connection to `peer`, or nullptr.
  std::shared_ptr<Connection> connection_to(const PeerId& peer) const;
  std::vector<std::shared_ptr<Connection>> connections() const;
  std::size_t connected_peer_count() const { return by_peer_.size(); }
  // GoAway on every connection (each is removed when its session ends).
  void close_all(const std::string& reason);

 private:
  void on_closed(const std::shared_ptr<Connection>& conn, const std::string& reason);
  void start_idle_sweep();
  asio::awaitable<void> idle_sweep(std::shared_ptr<asio::steady_timer> timer);
  // Adds the Yamux session's refused SYNs (over max_streams) to the stats.
  void sync_stream_refusals(Connection& conn);

  asio::any_io_executor executor_;
  const HostConfig& config_;
  HostStats& stats_;
  InboundStream on_inbound_;
  ConnectionLimits limits_;
  HandshakeTable handshakes_;
  EventBus events_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::unordered_map<PeerId, std::vector<std::shared_ptr<Connection>>> by_peer_;
  std::uint64_t next_id_ = 1;
  std::shared_ptr<asio::steady_timer> idle_timer_;  // set while the sweep runs
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mp::host

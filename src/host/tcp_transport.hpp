// TcpTransport: libp2p over TCP. Listens (expanding 0.0.0.0 and :: to the
// interface addresses), accepts under the host's HandshakeTable (handshakes
// in progress, total and per IP, shared with QUIC), dials (/ip4, /ip6, /dns*), and upgrades each
// socket: multistream-select -> Noise XX -> multistream-select -> Yamux,
// under one net::Deadline. What it hands the host is a SecuredConnection
// whose streams are Yamux streams (yamux_connection.hpp); the host's
// registry (limits, events) is asked before the muxer is built.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "core/result.hpp"
#include "host/handshake_table.hpp"
#include "host/stats.hpp"
#include "host/transport.hpp"

namespace mp::noise {
class LocalIdentity;
}
namespace mp::net {
class TcpStream;
}

namespace mp::host {

class Connection;
class Host;
struct HostConfig;

// Interface addresses of this machine, to expand 0.0.0.0 / :: listeners.
std::vector<std::string> interface_addresses(bool v6);

class TcpTransport {
 public:
  // `host` owns the transport (its registry takes what we accept).
  TcpTransport(asio::any_io_executor executor, const HostConfig& config,
               const Ed25519KeyPair& identity, Host& host);
  ~TcpTransport();
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // See Host::listen.
  Status listen(bool ipv6_optional);
  const std::vector<Multiaddr>& listen_addrs() const { return listen_addrs_; }
  // Dials /ip4|ip6|dns|dns4|dns6/.../tcp/N (no /p2p/) from `here` (the
  // executor the connection will live on; run this coroutine there), upgrades
  // and registers the connection with the host (one hop to the owner's thread
  // when `here` is another's); when `expected` is set the Noise handshake
  // must prove that peer. Throws.
  asio::awaitable<std::shared_ptr<Connection>> dial(Multiaddr target,
                                                    std::optional<PeerId> expected,
                                                    asio::any_io_executor here);
  // Closes the socket of an inbound handshake the host's HandshakeTable evicted.
  void evict_handshake(std::uint64_t id);
  // Stops accepting; handshakes in progress fail.
  void close();

 private:
  asio::awaitable<void> accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor);
  asio::awaitable<void> upgrade_inbound(asio::ip::tcp::socket socket);
  // On the socket's thread: the upgrade, registered at its end.
  asio::awaitable<void> upgrade_and_register(std::shared_ptr<net::TcpStream> tcp, std::string ip,
                                             HandshakeAdmission handshake);
  // Runs `f` on the owner's thread: now when we are on it, else posted
  // (dropped if the transport is gone by then).
  void on_owner(std::function<void()> f);
  // `handshake`: the inbound socket's HandshakeTable entry (none for
  // dials); its stage is written where the upgrade runs. Runs on the
  // socket's thread; the connection is admitted and registered with the host
  // in one step on the owner's thread, and handed back.
  asio::awaitable<std::shared_ptr<Connection>> upgrade(std::shared_ptr<net::TcpStream> tcp,
                                                       Direction dir,
                                                       std::optional<PeerId> expected,
                                                       HandshakeAdmission handshake = {});

  asio::any_io_executor executor_;
  const HostConfig& config_;
  Host& host_;
  HostStats& stats_;
  std::unique_ptr<noise::LocalIdentity> noise_identity_;
  // Sockets of handshakes in progress, to close one the table evicts.
  std::unordered_map<std::uint64_t, std::weak_ptr<net::TcpStream>> handshake_sockets_;
  std::vector<std::shared_ptr<asio::ip::tcp::acceptor>> acceptors_;
  std::vector<Multiaddr> listen_addrs_;
  std::atomic<bool> closing_{false};  // read on the network threads
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mp::host

// QuicTransport: libp2p over QUIC v1 (libp2p/specs quic/README.md). One UDP
// socket per listen address (/ip4|ip6/.../udp/N/quic-v1) on the host's
// io_context; each datagram is routed by Destination Connection ID
// (CidRouter) to its QuicConnection, or, when it is a valid Initial, opens
// one, if the limits allow: MAX_CONNECTIONS / per IP, and handshakes in
// progress (the host's one HandshakeTable, shared with TCP: total and per
// IP, with its eviction of stalled handshakes on either transport). TLS 1.3 proves the peer's identity; once
// it has, the connection goes to the host as a SecuredConnection whose
// streams are QUIC streams. Dropped datagrams are counted by DropReason.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <atomic>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "core/result.hpp"
#include "host/handshake_table.hpp"
#include "host/transport.hpp"
#include "quic/cid_router.hpp"
#include "quic/quic_connection.hpp"
#include "tls/certificate.hpp"

namespace mp::host {
class Host;
struct HostConfig;
}  // namespace mp::host

namespace mp::quic {

struct DatagramStats {
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(DropReason::kCount)> dropped{};
  void count(DropReason r) {
    dropped[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t get(DropReason r) const {
    return dropped[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
};

class QuicTransport {
 public:
  QuicTransport(asio::any_io_executor executor, const host::HostConfig& config,
                const Ed25519KeyPair& identity, host::Host& host);
  ~QuicTransport();
  QuicTransport(const QuicTransport&) = delete;
  QuicTransport& operator=(const QuicTransport&) = delete;

  // Binds the QUIC addresses among the host's listen addresses (others are
  // TcpTransport's); see Host::listen.
  Status listen(bool ipv6_optional);
  const std::vector<Multiaddr>& listen_addrs() const { return listen_addrs_; }
  // Dials /ip4|ip6/.../udp/N/quic-v1 (no /p2p/); when `expected` is set the
  // TLS certificate must prove that peer. Throws.
  asio::awaitable<host::SecuredConnection> dial(Multiaddr target, std::optional<PeerId> expected);
  // Ends an inbound handshake the host's HandshakeTable evicted.
  void evict_handshake(std::uint64_t id);
  const DatagramStats& datagram_stats() const { return *datagram_stats_; }
  // Stops receiving; connections in progress end.
  void close();

 private:
  struct Socket;
  std::shared_ptr<Socket> open_socket(const asio::ip::udp::endpoint& ep, std::error_code& ec);
  asio::awaitable<void> receive_loop(std::shared_ptr<Socket> sock);
  void on_datagram(const std::shared_ptr<Socket>& sock, const asio::ip::udp::endpoint& from,
                   BytesView data);
  void accept(const std::shared_ptr<Socket>& sock, const asio::ip::udp::endpoint& from,
              BytesView data);
  ConnectionEvents events_for(std::uint64_t handle);
  QuicConnection::Send sender_for(const std::shared_ptr<Socket>& sock);
  // Limits, the budget, and the host's registry for an inbound connection
  // whose peer is verified.
  void on_inbound_established(std::uint64_t handle);
  void on_terminated(std::uint64_t handle, const std::string& reason);
  struct Entry;
  // Removes a connection's routes and handshake slot; returns its entry.
  std::optional<Entry> forget(std::uint64_t handle);
  host::SecuredConnection secure(const std::shared_ptr<QuicConnection>& c, host::Direction dir,
                                 const asio::ip::udp::endpoint& local);

  struct Entry {
    std::shared_ptr<QuicConnection> conn;
    std::shared_ptr<Socket> socket;
    std::uint64_t handshake = 0;  // HandshakeTable id while inbound and unverified
    bool inbound = false;
    bool registered = false;  // handed to the host
  };

  asio::any_io_executor executor_;
  const host::HostConfig& config_;
  host::Host& host_;
  std::optional<tls::Credentials> credentials_;
  ConnectionSettings settings_;
  std::unordered_map<std::uint64_t, std::uint64_t> handshake_handles_;  // table id -> handle
  CidRouter router_;
  std::unordered_map<std::uint64_t, Entry> connections_;
  std::uint64_t next_handle_ = 1;
  std::vector<std::shared_ptr<Socket>> sockets_;
  std::vector<Multiaddr> listen_addrs_;
  std::shared_ptr<DatagramStats> datagram_stats_ = std::make_shared<DatagramStats>();
  bool closing_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mp::quic

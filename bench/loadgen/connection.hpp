// The load generator's client side of one libp2p connection, on the
// project's own stack: TCP (from a chosen 127.0.0.x source), multistream-select
// "/noise", Noise XX (noise::secure_outbound), multistream-select
// "/yamux/1.0.0", a client yamux::Session; or QUIC v1 (a client
// quic::QuicConnection on its own UDP socket from the chosen source, libp2p
// TLS with both certificates verified). Streams the server opens are
// answered: /ipfs/id/1.0.0 with our Identify, /ipfs/ping/1.0.0 echoed,
// the caller's InboundProtocol if it gave one (the relay mode's stop
// protocol); anything else is refused ("na").
//
// What callers may rely on:
//  - dial() returns once the muxer is up, or throws (the whole setup is
//    bounded by `timeout`: the TCP socket is reset when it passes).
//  - wait_identified() returns true once we answered the server's identify
//    request (false if it did not come within the time given).
//  - Everything runs on the io_context of the coroutine that called dial();
//    a Connection is used from that thread only.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "identify/identify.hpp"
#include "noise/payload.hpp"
#include "tls/certificate.hpp"
#include "yamux/session.hpp"

namespace mp::quic {
class QuicConnection;
}

namespace mp::loadgen {

// A client identity: the key, the Noise identity (its payload signed once)
// and the Identify message we answer with.
struct PeerIdentity {
  // kad_server: advertise /ipfs/kad/1.0.0 and `listen_addr` (a node then
  // puts us in its routing table); otherwise we look like a client that
  // does not listen.
  PeerIdentity(bool kad_server, const std::string& listen_addr);

  Ed25519KeyPair key;
  noise::LocalIdentity noise;
  identify::Info info;

  // The TLS credentials for QUIC (libp2p certificate of `key`), made on
  // first use only: TCP runs never pay for them.
  const tls::Credentials& tls_credentials() const;

 private:
  mutable std::once_flag tls_once_;
  mutable std::optional<tls::Credentials> tls_;
};

// Where the server is: an endpoint and the transport to dial it with.
struct Target {
  asio::ip::tcp::endpoint endpoint;
  bool quic = false;  // /udp/P/quic-v1
};

// A protocol a connection accepts besides identify and ping: `handler` gets
// each inbound stream negotiated to `id` (bytes pipelined behind the
// negotiation served first), on the connection's thread. Empty id: none.
struct InboundProtocol {
  std::string id;
  std::function<asio::awaitable<void>(std::shared_ptr<net::ByteStream>)> handler;
};

// Per-connection state shared with the handlers of inbound streams.
struct ConnectionState {
  explicit ConnectionState(const asio::any_io_executor& ex) : identified(ex) {}
  bool identify_served = false;
  asio::steady_timer identified;  // cancelled when identify_served becomes true
  std::uint64_t pings_served = 0;
  InboundProtocol extra;
};

class Connection {
 public:
  static asio::awaitable<std::unique_ptr<Connection>> dial(const asio::ip::tcp::endpoint& target,
                                                           const asio::ip::address& source,
                                                           const PeerIdentity& self,
                                                           std::chrono::milliseconds timeout,
                                                           InboundProtocol extra);
  // QUIC: returns once the TLS handshake proved the server (and it accepted
  // our certificate), or throws; bounded by `timeout`.
  static asio::awaitable<std::unique_ptr<Connection>> dial_quic(
      const asio::ip::udp::endpoint& target, const asio::ip::address& source,
      const PeerIdentity& self, std::chrono::milliseconds timeout);
  // Either transport, as `target` says.
  static asio::awaitable<std::unique_ptr<Connection>> dial(const Target& target,
                                                           const asio::ip::address& source,
                                                           const PeerIdentity& self,
                                                           std::chrono::milliseconds timeout);
  // No extra protocol. (Not a default argument: GCC 12 miscompiles a
  // non-trivial default argument's temporary in a co_await call.)
  static asio::awaitable<std::unique_ptr<Connection>> dial(const asio::ip::tcp::endpoint& target,
                                                           const asio::ip::address& source,
                                                           const PeerIdentity& self,
                                                           std::chrono::milliseconds timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens a stream and agrees on `protocol`; the returned stream serves any
  // bytes the server sent behind its multistream answer first.
  asio::awaitable<std::shared_ptr<net::ByteStream>> open(const std::string& protocol);
  // Asks the server's Identify and checks it (its key is the Noise peer's);
  // the stream is reset if the answer takes longer than `within`.
  asio::awaitable<identify::Info> identify(std::chrono::milliseconds within);
  asio::awaitable<bool> wait_identified(std::chrono::milliseconds within);

  const PeerId& remote() const { return remote_; }
  bool is_closed() const;
  void close();

 private:
  Connection(std::shared_ptr<yamux::Session> session, PeerId remote,
             std::shared_ptr<ConnectionState> state)
      : session_(std::move(session)), remote_(std::move(remote)), state_(std::move(state)) {}
  Connection(std::shared_ptr<quic::QuicConnection> quic,
             std::shared_ptr<asio::ip::udp::socket> socket, PeerId remote,
             std::shared_ptr<ConnectionState> state);

  std::shared_ptr<yamux::Session> session_;    // TCP
  std::shared_ptr<quic::QuicConnection> quic_;  // or QUIC, on its own socket
  std::shared_ptr<asio::ip::udp::socket> udp_;
  PeerId remote_;
  std::shared_ptr<ConnectionState> state_;
};

// Parses "/ip4/A/tcp/P[/p2p/..]", "/ip4/A/udp/P/quic-v1[/p2p/..]" or "A:P"
// (TCP unless `quic`) into a target.
Target parse_target(const std::string& text, bool quic);

}  // namespace mp::loadgen

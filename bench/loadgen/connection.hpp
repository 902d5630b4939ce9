// The load generator's client side of one libp2p connection, on the
// project's own stack: TCP (from a chosen 127.0.0.x source), multistream-select
// "/noise", Noise XX (noise::secure_outbound), multistream-select
// "/yamux/1.0.0", a client yamux::Session. Streams the server opens are
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
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "identify/identify.hpp"
#include "noise/payload.hpp"
#include "yamux/session.hpp"

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
  bool is_closed() const { return session_->is_closed(); }
  void close() { session_->close(); }

 private:
  Connection(std::shared_ptr<yamux::Session> session, PeerId remote,
             std::shared_ptr<ConnectionState> state)
      : session_(std::move(session)), remote_(std::move(remote)), state_(std::move(state)) {}

  std::shared_ptr<yamux::Session> session_;
  PeerId remote_;
  std::shared_ptr<ConnectionState> state_;
};

// Parses "/ip4/A/tcp/P[/p2p/..]" or "A:P" into an endpoint.
asio::ip::tcp::endpoint parse_target(const std::string& text);

}  // namespace mp::loadgen

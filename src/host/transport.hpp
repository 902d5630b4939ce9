// The seam between the host and its transports. A transport turns sockets
// into authenticated, multiplexed connections: TCP composes Noise and Yamux
// to get there (tcp_transport.hpp, yamux_connection.hpp); a QUIC transport
// would bring TLS 1.3 and native streams. The host's registry, limits,
// stream dispatch and every protocol above see only a MuxedConnection.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "host/events.hpp"
#include "host/limits.hpp"
#include "host/resource_budget.hpp"
#include "net/byte_stream.hpp"

namespace mp::host {

// Streams of one authenticated connection. Everything runs on the
// connection's io_context thread.
class MuxedConnection {
 public:
  using InboundHandler = std::function<void(std::shared_ptr<net::ByteStream>)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  virtual ~MuxedConnection() = default;
  // Starts reading. `on_inbound` receives each stream the remote opens (a
  // stream it drops is reset); `on_close` runs once when the connection
  // ends, for whatever reason, never from inside a caller's function.
  virtual void start(InboundHandler on_inbound, CloseHandler on_close) = 0;
  // Opens a stream; throws std::system_error when the connection is closing.
  virtual asio::awaitable<std::shared_ptr<net::ByteStream>> open_stream() = 0;
  // Graceful close: no new streams, the remote is told, then the connection ends.
  virtual void close() = 0;
  // stream_count(), last_remote_activity() and streams_refused() are what
  // the registry's idle sweep reads from the owner thread: relaxed atomics
  // the connection's thread stores (Yamux's and QUIC's), readable from any
  // thread.
  virtual std::size_t stream_count() const = 0;
  // The last time the remote sent something on a stream it opened (idle
  // timeout: streams the remote holds silent are not activity).
  virtual std::chrono::steady_clock::time_point last_remote_activity() const = 0;
  // Streams the remote opened beyond the per-connection limit, refused so far.
  virtual std::uint64_t streams_refused() const = 0;
  // This connection's share of the ResourceBudget.
  virtual ConnectionAccount& memory() = 0;
};

// What a transport hands the host once the remote has proved its identity.
struct SecuredConnection {
  PeerId peer;
  PublicKey public_key;
  Direction direction = Direction::kInbound;
  Multiaddr remote_addr;  // as seen on the socket (an ephemeral port when inbound)
  Multiaddr local_addr;
  std::string remote_ip;
  Transport transport = Transport::kTcp;  // the `transport` label of its metrics
  std::shared_ptr<MuxedConnection> muxed;
  // The executor `muxed` lives on (a network thread's, NETWORK_THREADS >= 2);
  // empty: the host's own.
  asio::any_io_executor executor;
};

}  // namespace mp::host

// Connection: one authenticated, multiplexed connection to a peer, as the
// host's ConnectionRegistry holds it: who and where the remote is, its
// streams, whether it is kept alive. Built by the registry from what a
// transport secured (transport.hpp).
//
// Threading: a connection's streams live on one executor (executor()): the
// host's, or a network thread's (NETWORK_THREADS >= 2). The registry and the
// services keep it on the host's thread: the getters of what never changes
// are safe anywhere; open_stream and close may be called from the host's
// thread for a connection on another one (they hop there: the streams
// open_stream returns are then net::ForeignStreams); is_open is an atomic.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "host/events.hpp"
#include "host/resource_budget.hpp"
#include "host/transport.hpp"
#include "net/byte_stream.hpp"

namespace mp::host {

// A stream whose protocol has been agreed.
struct NegotiatedStream {
  std::shared_ptr<net::ByteStream> stream;
  std::string protocol;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `negotiation_timeout` bounds the multistream-select of open_stream.
  Connection(std::uint64_t id, SecuredConnection secured, asio::any_io_executor executor,
             std::chrono::milliseconds negotiation_timeout);
  ~Connection();

  std::uint64_t id() const { return id_; }
  const PeerId& remote_peer() const { return peer_; }
  const PublicKey& remote_public_key() const { return remote_key_; }
  Direction direction() const { return direction_; }
  Transport transport() const { return transport_; }
  // The remote's socket address (for inbound connections an ephemeral port:
  // never store it as a dialable address).
  const Multiaddr& remote_addr() const { return remote_addr_; }
  const Multiaddr& local_addr() const { return local_addr_; }
  const std::string& remote_ip() const { return remote_ip_; }
  const asio::any_io_executor& executor() const { return executor_; }
  std::chrono::steady_clock::time_point established_at() const { return established_at_; }
  // This connection's share of the ResourceBudget (what a service keeps per
  // connection is reserved here); nullptr once the muxer is gone.
  ConnectionAccount* memory() const { return muxed_ ? &muxed_->memory() : nullptr; }
  bool is_open() const { return open_.load(std::memory_order_acquire); }
  std::size_t stream_count() const;
  // A connection kept alive is never closed by the idle timeout (a relay
  // keeps the connection of a peer holding a reservation open).
  void set_keep_alive(bool on) { keep_alive_ = on; }
  bool keep_alive() const { return keep_alive_; }

  // Opens a stream and negotiates one of `protocols` (in order of preference).
  // Called off the connection's thread, it runs there and hands back a
  // net::ForeignStream. `read_only`: we will only read from it, so our side
  // is closed with the proposal (multistream::negotiate_outbound).
  asio::awaitable<NegotiatedStream> open_stream(std::vector<std::string> protocols,
                                                bool read_only = false);
  // Says GoAway and closes the connection.
  void close(const std::string& reason);

 private:
  friend class ConnectionRegistry;  // opens, sweeps and closes it
  friend class StreamDispatch;      // marks it busy

  asio::awaitable<NegotiatedStream> open_stream_here(std::vector<std::string> protocols,
                                                     bool read_only);

  // When it last had work: stored by StreamDispatch::serve on the
  // connection's thread and by the registry's sweep, read by the sweep.
  std::chrono::steady_clock::time_point last_busy() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_busy_.load(std::memory_order_relaxed)));
  }
  void mark_busy(std::chrono::steady_clock::time_point t) {
    last_busy_.store(t.time_since_epoch().count(), std::memory_order_relaxed);
  }

  std::uint64_t id_ = 0;
  PeerId peer_;
  PublicKey remote_key_;
  Direction direction_ = Direction::kInbound;
  Transport transport_ = Transport::kTcp;
  Multiaddr remote_addr_;
  Multiaddr local_addr_;
  std::string remote_ip_;
  std::shared_ptr<MuxedConnection> muxed_;
  asio::any_io_executor executor_;
  std::chrono::milliseconds negotiation_timeout_;
  std::chrono::steady_clock::time_point established_at_;
  std::atomic<std::chrono::steady_clock::rep> last_busy_;
  std::uint64_t streams_refused_seen_ = 0;  // session's refused SYNs already counted
  std::atomic<bool> open_{true};
  bool keep_alive_ = false;
  std::string close_reason_;
};

}  // namespace mp::host

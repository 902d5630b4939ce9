// identify::Service: Identify on every connection of a host (libp2p/specs
// identify/README.md). On each new connection it asks the remote who it is;
// it answers /ipfs/id/1.0.0 with ours and takes /ipfs/id/push/1.0.0 updates
// (a token bucket per connection: HostConfig::identify_push_burst, then one
// per identify_push_interval; a refusal is a RST before reading, counted as
// identify_push_rate). The last Info of each connection is kept only if that
// connection's memory budget has room, and every Info received is published
// as host::IdentifyReceived on the host's events.
//
// Threading: built, used and destroyed on the host's executor; its
// per-connection state is reached only from there. Destroy it before the
// host (handlers it registered then do nothing).
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "host/host.hpp"
#include "identify/info.hpp"

namespace mp::identify {

class Service {
 public:
  // Registers both protocols on `host` and follows its connections.
  explicit Service(host::Host& host);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The remote's last Info kept for that connection, or nullptr (not
  // identified yet, or not kept: over the memory budget).
  const Info* info(std::uint64_t connection_id) const;

 private:
  struct PerConnection {
    std::weak_ptr<host::Connection> connection;
    std::optional<Info> info;
    std::size_t reserved = 0;  // info's bytes, reserved from the connection's account
    double push_tokens = 0;
    std::chrono::steady_clock::time_point push_refill;
  };

  void on_event(const host::Event& e);
  asio::awaitable<void> ask(std::shared_ptr<host::Connection> conn);
  asio::awaitable<void> serve_stream(host::StreamContext ctx);
  asio::awaitable<void> receive_push(host::StreamContext ctx);
  Info ours(const host::Connection& conn) const;
  void keep(const host::Connection& conn, Info info);

  host::Host& host_;
  std::unordered_map<std::uint64_t, PerConnection> connections_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mp::identify

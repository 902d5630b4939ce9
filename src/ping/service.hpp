// ping::Service: Ping on every connection of a host (libp2p/specs
// ping/ping.md). It answers /ipfs/ping/1.0.0 and pings each connection's
// remote every HostConfig::ping_interval (a ping must come back within
// ping_timeout). The round trip is published as host::PingRtt; a remote that
// does not speak ping is left alone, one that fails three pings in a row is
// disconnected. Counted on HostStats::pings_sent / pings_failed.
//
// The idle timeout is not ping's business: the host's connection registry
// closes idle connections.
//
// Threading: built, used and destroyed on the host's executor; its
// per-connection timers are reached only from there. Destroy it before the
// host.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "host/host.hpp"

namespace mp::ping {

class Service {
 public:
  // Registers the protocol on `host` and follows its connections.
  explicit Service(host::Host& host);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

 private:
  void on_event(const host::Event& e);
  // Pings `conn` periodically until it closes (its timer is cancelled).
  asio::awaitable<void> run(std::weak_ptr<host::Connection> conn,
                            std::shared_ptr<asio::steady_timer> timer);

  host::Host& host_;
  // One timer per connection, cancelled when the connection closes.
  std::unordered_map<std::uint64_t, std::shared_ptr<asio::steady_timer>> timers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mp::ping

// ping::Service: Ping on every connection of a host (libp2p/specs
// ping/ping.md). It answers /ipfs/ping/1.0.0 and pings each connection's
// remote every HostConfig::ping_interval (a ping must come back within
// ping_timeout). The round trip is published as host::PingRtt; a remote that
// does not speak ping is left alone, one that fails three pings in a row is
// disconnected. Counted on HostStats::pings_sent / pings_failed.
//
// Memory: one Schedule and one timer for all connections (an idle
// connection is an entry in the schedule, about 120 bytes); a coroutine
// exists only while a ping is in flight. Pings are spread over the interval
// (ping/schedule.hpp).
//
// The idle timeout is not ping's business: the host's connection registry
// closes idle connections.
//
// Threading: built, used and destroyed on the host's executor. Destroy it
// before the host.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <optional>

#include "host/host.hpp"
#include "ping/schedule.hpp"

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
  // Sets the timer to the schedule's earliest due time if that is sooner
  // than the time it is set for.
  void arm();
  // The timer fired: starts the pings that are due, sets the timer again.
  void on_timer();
  // One ping of connection `id` (taken from the schedule), then its result
  // given back to the schedule.
  asio::awaitable<void> ping(std::uint64_t id);

  host::Host& host_;
  Schedule schedule_;
  asio::steady_timer timer_;
  std::optional<Schedule::TimePoint> armed_;  // when timer_ fires, if waited on
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mp::ping

// FleetService: fleet mode on the network thread (issue 16), glue like
// warm_start.hpp. Owns the
// fleet::PgFleet thread (fleet/pg_fleet.hpp) and takes its reports here:
// - pulled peers enter the routing table under the same admission rules as
//   the peers loaded at start (Kademlia servers, allow_private_addrs etc.
//   applied by kad::Kademlia);
// - alive members we are not connected to are dialled through the host
//   (one dial at a time per member), so the fleet's nodes know each other.
// /health's `fleet` object and the mepassa_fleet_* metrics read its
// counters (atomics) from the HTTP thread.
#pragma once

#include <asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "fleet/pg_fleet.hpp"
#include "http/health.hpp"

namespace mp::host {
class Host;
}
namespace mp::kad {
class Kademlia;
}

namespace mp::app {

class FleetService {
 public:
  FleetService(asio::any_io_executor ex, host::Host& host, kad::Kademlia& kad, fleet::PgFleetConfig config);
  ~FleetService();

  void start();
  void stop();  // waits for the fleet thread; idempotent

  http::FleetHealth health() const;
  // The mepassa_fleet_* families, Prometheus text (any thread).
  std::string metrics_text() const;
  const fleet::FleetCounters& counters() const { return fleet_->counters(); }

 private:
  void admit(std::vector<storage::StoredPeer> peers);
  void dial_members(std::vector<fleet::Member> members);

  asio::any_io_executor ex_;
  host::Host& host_;
  kad::Kademlia& kad_;
  std::string self_;
  std::unique_ptr<fleet::PgFleet> fleet_;
  std::unordered_set<std::string> dialling_;  // network thread
  bool stopped_ = false;                      // network thread
};

}  // namespace mp::app

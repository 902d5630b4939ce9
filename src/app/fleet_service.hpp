// FleetService: fleet mode on the network thread (issue 16), glue like
// warm_start.hpp. Owns the
// fleet::PgFleet thread (fleet/pg_fleet.hpp) and takes its reports here:
// - pulled peers enter the routing table under the same admission rules as
//   the peers loaded at start (Kademlia servers, allow_private_addrs etc.
//   applied by kad::Kademlia);
// - alive members we are not connected to are dialled through the host
//   (one dial at a time per member), so the fleet's nodes know each other;
// - our row's addresses follow the host's advertised ones (listen and
//   observed), handed to the fleet thread at each heartbeat;
// - the alive members split the verification dials (warm start,
//   re-verification) by XOR distance (fleet::VerificationShard): owns() says
//   whether a peer is ours to dial; alone or with the database lost, every
//   peer is;
// - a pulled row at the floor reputation (the member whose share it is found
//   it unreachable and removed it) is not admitted again, and the pulled
//   reputations are handed to re-verification (set_reputation_handler).
// /health's `fleet` object and the mepassa_fleet_* metrics read its
// counters (atomics) from the HTTP thread.
#pragma once

#include <asio/any_io_executor.hpp>
#include <atomic>
#include <functional>
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

  // Network thread. Whether `peer` is this member's share of the verification dials.
  bool owns(const PeerId& peer) const { return shard_.owns(peer); }
  // Network thread. The stored peers to verify (the warm start's): shard_peers
  // counts those we own, recounted as the members change.
  void set_verification_set(const std::vector<storage::StoredPeer>& peers);

  // Network thread. Called with each pulled peer admitted to the routing table
  // and its stored reputation (the node's re-verification follows it).
  void set_reputation_handler(std::function<void(const PeerId&, double)> h) { on_reputation_ = std::move(h); }

  http::FleetHealth health() const;
  // The mepassa_fleet_* families, Prometheus text (any thread).
  std::string metrics_text() const;
  const fleet::FleetCounters& counters() const { return fleet_->counters(); }

 private:
  void admit(std::vector<storage::StoredPeer> peers);
  void on_members(std::vector<fleet::Member> members);
  void dial_members(const std::vector<fleet::Member>& members);
  void recount_shard();

  asio::any_io_executor ex_;
  host::Host& host_;
  kad::Kademlia& kad_;
  std::string self_;
  std::unique_ptr<fleet::PgFleet> fleet_;
  std::unordered_set<std::string> dialling_;  // network thread
  fleet::VerificationShard shard_;             // network thread
  std::vector<fleet::KeyBytes> verify_keys_;   // network thread
  std::vector<std::string> last_addrs_;        // network thread: last given to the fleet thread
  std::atomic<std::uint64_t> shard_peers_{0};  // gauge, read by the HTTP thread
  std::atomic<std::uint64_t> shard_members_{1};
  bool stopped_ = false;                      // network thread
  std::function<void(const PeerId&, double)> on_reputation_;
};

}  // namespace mp::app

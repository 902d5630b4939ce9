#include "app/fleet_service.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "host/host.hpp"
#include "kad/kademlia.hpp"

namespace mp::app {

FleetService::FleetService(asio::any_io_executor ex, host::Host& host, kad::Kademlia& kad,
                           fleet::PgFleetConfig config)
    : ex_(std::move(ex)), host_(host), kad_(kad), self_(config.self), shard_(host.local_peer()) {
  last_addrs_ = config.addrs;
  // The callbacks run on the fleet thread: hand the data to ours.
  config.on_pulled = [this](std::vector<storage::StoredPeer> peers) {
    asio::post(ex_, [this, peers = std::move(peers)]() mutable { admit(std::move(peers)); });
  };
  config.on_members = [this](std::vector<fleet::Member> members) {
    asio::post(ex_, [this, members = std::move(members)]() mutable { on_members(std::move(members)); });
  };
  fleet_ = std::make_unique<fleet::PgFleet>(std::move(config));
}

FleetService::~FleetService() { stop(); }

void FleetService::start() {
  fleet_->start();
  spdlog::info("Fleet mode: sharing peers with the other bootstrap nodes on this database");
}

void FleetService::stop() {
  stopped_ = true;
  fleet_->stop();
}

void FleetService::admit(std::vector<storage::StoredPeer> peers) {
  if (stopped_) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto& p : peers) {
    if (p.id == host_.local_peer()) continue;
    // A peer the fleet found unreachable down to the floor (its verification
    // share's member removed it, maybe us) is not admitted again: the write
    // of that failure comes back in the next pull.
    if (p.reputation <= storage::kReputationFloor + 1e-9 && !kad_.routing_table().contains(p.id)) {
      continue;
    }
    // As at start (Node::seed_routing_table): stored peers are Kademlia servers.
    (void)kad_.on_peer_identified(p.id, std::move(p.addrs), true, now);
    // Re-verification follows the shared reputation (a share that moves to
    // us comes with the other member's verdicts).
    if (on_reputation_ && kad_.routing_table().contains(p.id)) on_reputation_(p.id, p.reputation);
  }
}

void FleetService::on_members(std::vector<fleet::Member> members) {
  if (stopped_) return;
  // Our addresses now (an observed address came or went, a port changed):
  // the next heartbeat writes them.
  std::vector<std::string> addrs;
  for (const auto& a : host_.advertised_addrs()) addrs.push_back(a.to_string() + "/p2p/" + self_);
  if (addrs != last_addrs_) {
    fleet_->set_addrs(addrs);
    last_addrs_ = std::move(addrs);
  }
  std::vector<std::string> ids;
  for (const auto& m : members) ids.push_back(m.peer_id);
  shard_.set_members(ids);
  recount_shard();
  dial_members(members);
}

void FleetService::set_verification_set(const std::vector<storage::StoredPeer>& peers) {
  verify_keys_.clear();
  for (const auto& p : peers) verify_keys_.push_back(fleet::shard_key(p.id));
  recount_shard();
}

void FleetService::recount_shard() {
  std::uint64_t n = 0;
  for (const auto& k : verify_keys_) n += shard_.owns(k) ? 1 : 0;
  shard_peers_ = n;
  shard_members_ = shard_.sharing();
}

void FleetService::dial_members(const std::vector<fleet::Member>& members) {
  for (const auto& m : members) {
    if (m.peer_id == self_ || dialling_.contains(m.peer_id)) continue;
    auto peer = PeerId::parse(m.peer_id);
    if (!peer || host_.connection_to(*peer)) continue;
    std::vector<Multiaddr> addrs;
    for (const auto& a : m.addrs) {
      if (auto ma = Multiaddr::parse(a)) addrs.push_back(std::move(*ma));
    }
    if (addrs.empty()) continue;
    dialling_.insert(m.peer_id);
    asio::co_spawn(
        ex_,
        [this, id = m.peer_id, p = *peer, addrs = std::move(addrs)]() -> asio::awaitable<void> {
          for (const auto& a : addrs) {
            try {
              co_await host_.dial(a, p);
              spdlog::info("fleet: connected to member {}", id);
              break;
            } catch (const std::exception& e) {
              spdlog::debug("fleet: dial of member {} at {} failed: {}", id, a.to_string(), e.what());
            }
          }
          dialling_.erase(id);
        },
        asio::detached);
  }
}

http::FleetHealth FleetService::health() const {
  const auto& c = fleet_->counters();
  http::FleetHealth h;
  h.enabled = true;
  h.connected = c.connected.load();
  h.members_alive = c.members_alive.load();
  h.last_pull_ms = c.last_pull_ms.load();
  h.pulled_peers = c.pulled_peers.load();
  h.notifications = c.notifications.load();
  h.failures = c.failures.load();
  h.late_rows = c.late_rows.load();
  h.shard_peers = shard_peers_.load();
  h.shard_members = shard_members_.load();
  return h;
}

std::string FleetService::metrics_text() const {
  const auto& c = fleet_->counters();
  return fmt::format(
      "# HELP mepassa_fleet_members_alive Bootstrap nodes of the fleet with a recent heartbeat, this one included.\n"
      "# TYPE mepassa_fleet_members_alive gauge\n"
      "mepassa_fleet_members_alive {}\n"
      "# HELP mepassa_fleet_pulled_peers_total Peers pulled from what the other fleet members stored.\n"
      "# TYPE mepassa_fleet_pulled_peers_total counter\n"
      "mepassa_fleet_pulled_peers_total {}\n"
      "# HELP mepassa_fleet_pulls_total Pull rounds of the peers the other members stored.\n"
      "# TYPE mepassa_fleet_pulls_total counter\n"
      "mepassa_fleet_pulls_total {}\n"
      "# HELP mepassa_fleet_notifications_total NOTIFY mepassa_peers wake-ups received.\n"
      "# TYPE mepassa_fleet_notifications_total counter\n"
      "mepassa_fleet_notifications_total {}\n"
      "# HELP mepassa_fleet_failures_total Fleet database operations that failed (then retried).\n"
      "# TYPE mepassa_fleet_failures_total counter\n"
      "mepassa_fleet_failures_total {}\n"
      "# HELP mepassa_fleet_late_rows_total Rows pulled from the late-commit window (committed after a later change_seq was pulled).\n"
      "# TYPE mepassa_fleet_late_rows_total counter\n"
      "mepassa_fleet_late_rows_total {}\n"
      "# HELP mepassa_fleet_shard_peers Stored peers this member verifies (its XOR share among the alive members).\n"
      "# TYPE mepassa_fleet_shard_peers gauge\n"
      "mepassa_fleet_shard_peers {}\n",
      c.members_alive.load(), c.pulled_peers.load(), c.pulls.load(), c.notifications.load(),
      c.failures.load(), c.late_rows.load(), shard_peers_.load());
}

}  // namespace mp::app

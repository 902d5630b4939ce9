// /health: the Rust bootstrap node's answer ({"status":"OK","peer_count",
// "uptime_seconds"}) extended with storage, routing table and identity
// fields. Existing health checks that look for HTTP 200 or "status":"OK"
// keep working; a failing peer store turns the answer into HTTP 503 with
// "status":"DEGRADED" and a "reason".
//
// Threading: the app publishes snapshots (HealthState::publish) from its own
// thread; the HTTP thread only copies the latest one. Nothing here touches
// network objects.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace mp::http {

struct StorageHealth {
  std::uint64_t total_peers = 0;
  std::uint64_t total_addresses = 0;
  std::uint64_t stale_peers = 0;
  // false when the peer store cannot write (disk full, corrupt database...);
  // `failure` then says why, in words an operator can act on.
  bool ok = true;
  std::string failure;
};

// Fleet mode (DATABASE_URL; fleet/fleet_service.hpp): absent when disabled.
struct FleetHealth {
  bool enabled = false;
  bool connected = false;           // the fleet's database connection is up
  std::uint64_t members_alive = 0;  // this node included
  std::int64_t last_pull_ms = 0;    // Unix ms of the last pull, 0 before the first
  std::uint64_t pulled_peers = 0;
  std::uint64_t notifications = 0;
  std::uint64_t failures = 0;
  std::uint64_t late_rows = 0;      // pulled from the late-commit window
  std::uint64_t shard_peers = 0;    // stored peers this member verifies
  std::uint64_t shard_members = 1;  // members sharing the verification dials
};

// Periodic re-verification (app/reverification.hpp): absent when REVERIFY_INTERVAL_SECS=0.
struct ReverifyHealth {
  bool enabled = false;
  std::uint64_t interval_secs = 0;
  std::uint64_t rounds = 0;          // rounds finished
  std::uint64_t rounds_skipped = 0;  // due while a round or the warm start ran
  bool running = false;
  std::uint64_t last_round_peers = 0;
  std::uint64_t reached = 0;  // totals over every round
  std::uint64_t already_connected = 0;
  std::uint64_t unreachable = 0;
  std::uint64_t removed = 0;
  std::uint64_t other_member = 0;  // left to the fleet member that owns them
};

struct HealthSnapshot {
  std::uint64_t peer_count = 0;  // connected peers
  std::uint64_t routing_table_size = 0;
  StorageHealth storage;
  FleetHealth fleet;
  ReverifyHealth reverify;
  std::string peer_id;
  std::vector<std::string> listen_addrs;
};

// What the HTTP thread calls on every /health request. It must only read
// published data (a snapshot, atomics); it must not block on the network.
using HealthSource = std::function<HealthSnapshot()>;

// Latest snapshot behind a mutex held only for a copy.
class HealthState {
 public:
  void publish(HealthSnapshot snapshot) {
    std::lock_guard lock(mu_);
    current_ = std::move(snapshot);
  }
  HealthSnapshot read() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  HealthSource source() const {
    return [this] { return read(); };
  }

 private:
  mutable std::mutex mu_;
  HealthSnapshot current_;
};

struct HealthResponse {
  int status = 200;  // 200 OK or 503 DEGRADED
  std::string body;  // JSON
};

// Why the node is DEGRADED, in words ("" when storage is ok).
std::string degraded_reason(const StorageHealth& storage);

// Pure: builds the /health answer for a snapshot.
HealthResponse render_health(const HealthSnapshot& snapshot, std::uint64_t uptime_seconds,
                             const std::string& version);

}  // namespace mp::http

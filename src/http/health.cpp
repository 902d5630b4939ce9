#include "http/health.hpp"

#include <nlohmann/json.hpp>

namespace mp::http {

std::string degraded_reason(const StorageHealth& storage) {
  if (storage.ok) return {};
  return storage.failure.empty() ? std::string("storage failing") : "storage: " + storage.failure;
}

HealthResponse render_health(const HealthSnapshot& s, std::uint64_t uptime_seconds,
                             const std::string& version) {
  // Field order: the Rust node's three fields first, for people reading it.
  nlohmann::ordered_json j;
  j["status"] = s.storage.ok ? "OK" : "DEGRADED";
  j["peer_count"] = s.peer_count;
  j["uptime_seconds"] = uptime_seconds;
  if (!s.storage.ok) {
    j["reason"] = degraded_reason(s.storage);
  }
  j["storage"] = {{"total_peers", s.storage.total_peers},
                  {"total_addresses", s.storage.total_addresses},
                  {"stale_peers", s.storage.stale_peers}};
  if (s.fleet.enabled) {
    j["fleet"] = {{"connected", s.fleet.connected},
                  {"members_alive", s.fleet.members_alive},
                  {"last_pull_ms", s.fleet.last_pull_ms},
                  {"pulled_peers", s.fleet.pulled_peers},
                  {"notifications", s.fleet.notifications},
                  {"failures", s.fleet.failures},
                  {"late_rows", s.fleet.late_rows},
                  {"shard_peers", s.fleet.shard_peers},
                  {"shard_members", s.fleet.shard_members}};
  }
  if (s.reverify.enabled) {
    j["reverify"] = {{"interval_secs", s.reverify.interval_secs},
                     {"rounds", s.reverify.rounds},
                     {"rounds_skipped", s.reverify.rounds_skipped},
                     {"running", s.reverify.running},
                     {"last_round_peers", s.reverify.last_round_peers},
                     {"reached", s.reverify.reached},
                     {"already_connected", s.reverify.already_connected},
                     {"unreachable", s.reverify.unreachable},
                     {"removed", s.reverify.removed},
                     {"other_member", s.reverify.other_member}};
  }
  j["routing_table_size"] = s.routing_table_size;
  j["peer_id"] = s.peer_id;
  j["listen_addrs"] = s.listen_addrs;
  j["version"] = version;
  HealthResponse r;
  r.status = s.storage.ok ? 200 : 503;
  // Replace invalid UTF-8 instead of throwing: a failure message may carry
  // bytes from the OS.
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace mp::http

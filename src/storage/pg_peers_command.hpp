// `peers stats|list|gc` on the PostgreSQL peer store (DATABASE_URL set);
// run_peers_command (peers_command.hpp) parses the arguments and calls this.
// Same output as on SQLite, so scripts work on both engines.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace mp::storage {

// `cmd` is "stats", "list" or "gc". Returns the exit code (0 or 1).
// `fleet_alive`: stats counts a fleet member alive when its heartbeat is at
// most this old (the node's rule: fleet::kMissedHeartbeatsGone times
// FLEET_HEARTBEAT_SECS).
int run_pg_peers_command(const std::string& cmd, std::int64_t limit, std::int64_t max_age,
                         const std::string& database_url, std::chrono::milliseconds fleet_alive,
                         std::ostream& out, std::ostream& err);

}  // namespace mp::storage

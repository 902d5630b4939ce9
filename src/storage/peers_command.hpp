// `mepassa-bootstrap peers stats|list|gc`: operator commands on a data dir,
// safe while the node runs. They do not take the data dir lock: stats and
// list open dht.db read-only (WAL lets them read beside the node's writer);
// gc deletes in an ordinary write transaction that waits up to the busy
// timeout for the node's writer.
//
//   peers stats                       totals, age groups, reputation spread
//   peers list [--limit N]            rows, best first (default 50; 0 = all)
//   peers gc [--max-age-secs N]       delete rows older than N (default 7 days)
//
// Returns the process exit code: 0 success, 1 failure, 2 usage error.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

namespace mp::storage {

// `args` starts at the subcommand ("stats", "list", "gc"); a leading
// "peers" is accepted too. A non-empty `database_url` runs them on the
// PostgreSQL store instead (pg_peers_command.hpp); there `fleet_alive` is how
// old a member's heartbeat may be for stats to count it alive (the default:
// 3 heartbeats at the default FLEET_HEARTBEAT_SECS of 5 s).
int run_peers_command(const std::vector<std::string>& args, const std::string& data_dir,
                      std::ostream& out, std::ostream& err, const std::string& database_url = "",
                      std::chrono::milliseconds fleet_alive = std::chrono::seconds(15));

}  // namespace mp::storage

// Node configuration: environment variables compatible with the Rust
// MePassa bootstrap node, a .env file read the way dotenvy read it, and
// command-line flags. Precedence, highest first:
//   command-line flag > process environment > .env file > built-in default.
// Operators replacing the Rust node keep their environment and .env as is.
//
// load_config() never prints and never exits: it returns either a Config to
// run with, or an EarlyExit (text + exit code) for --help, --version and
// every configuration error. A bad value is reported on one line naming the
// variable and the problem, with exit code 2.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "app/dotenv.hpp"
#include "app/log_filter.hpp"
#include "app/options.hpp"
#include "core/multiaddr.hpp"
#include "core/result.hpp"

namespace mp::app {

enum class LogFormat { kText, kJson };

// Which peers learned from connections go into the Kademlia routing table.
enum class KadInsert {
  kAll,      // every peer we talk to (the Rust node's behaviour)
  kServers,  // only peers that advertise a Kademlia protocol via identify
};

// QUIC_RETRY: when new QUIC clients must prove their address (host::QuicRetry).
enum class QuicRetry { kAuto, kAlways, kNever };

// What the process was asked to do.
enum class Command {
  kRun,         // run the bootstrap node (no subcommand)
  kPeersStats,  // peers stats: print peer store statistics
  kPeersList,   // peers list: print stored peers and addresses
  kPeersGc,     // peers gc: delete peers older than PEER_MAX_AGE_SECS
  kProbe,       // probe <multiaddr>: dial, handshake, identify, report
};

// Defaults come from the options table (options.hpp).
struct Config {
  Command command = Command::kRun;
  std::optional<Multiaddr> probe_target;  // set for Command::kProbe
  // peers list --limit N (rows, best first; 0 = all). Unset: the peers
  // command's own default.
  std::optional<std::uint64_t> peers_list_limit;

  // --- Variables of the Rust node (same names, meaning and defaults) ---
  std::uint16_t bootstrap_port = default_of<std::uint16_t>("BOOTSTRAP_PORT");
  std::uint16_t health_port = default_of<std::uint16_t>("HEALTH_PORT");
  // PEER_ID_SEED (Ed25519 key = SHA-256(seed)). Unset: a random key kept in
  // DATA_DIR/identity.key.
  std::optional<std::string> peer_id_seed;
  std::filesystem::path data_dir{std::string(default_text("DATA_DIR"))};
  // DATABASE_URL; empty = the SQLite peer store in data_dir.
  std::string database_url;
  // RUST_LOG or LOG_LEVEL: the raw filter text and the level we apply.
  std::string log_filter{default_text("RUST_LOG")};
  LogLevel log_level = LogLevel::kInfo;
  // True when --log-level set it: a flag cannot change under a running
  // process, so SIGHUP leaves the level alone (see reload_logging()).
  bool log_level_pinned = false;
  // LOG_FILE: append log lines to this file instead of stdout; SIGHUP
  // reopens it (logrotate's move-then-HUP). Empty: stdout.
  std::filesystem::path log_file;
  bool relay_enabled = default_of<bool>("RELAY_ENABLED");
  // reservations and circuits
  std::uint32_t relay_max_circuits = default_of<std::uint32_t>("RELAY_MAX_CIRCUITS");
  // per-peer reservations and circuits
  std::uint32_t relay_max_per_peer = default_of<std::uint32_t>("RELAY_MAX_PER_PEER");
  // the same per IP address
  std::uint32_t relay_max_per_ip = default_of<std::uint32_t>("RELAY_MAX_PER_IP");
  // per IPv4 /24 or IPv6 /48
  std::uint32_t relay_max_per_subnet = default_of<std::uint32_t>("RELAY_MAX_PER_SUBNET");
  // RELAY_MAX_BYTES_PER_SEC. Despite its name the Rust node passed it to
  // rust-libp2p as max_circuit_bytes (a per-circuit byte budget), so it is
  // the default of relay_circuit_max_bytes below.
  std::uint64_t relay_max_bytes_per_sec = default_of<std::uint64_t>("RELAY_MAX_BYTES_PER_SEC");

  // --- Ours ---
  // LISTEN_ADDRS / --listen. Default: /ip4/0.0.0.0/tcp/<BOOTSTRAP_PORT> and
  // /ip4/0.0.0.0/udp/<BOOTSTRAP_PORT>/quic-v1, and the same on ::.
  std::vector<Multiaddr> listen_addrs;
  bool listen_addrs_defaulted = false;  // true when LISTEN_ADDRS/--listen were not given
  std::vector<Multiaddr> bootstrap_peers;  // BOOTSTRAP_PEERS / --bootstrap-peer (with /p2p/)
  bool allow_private_addrs = default_of<bool>("ALLOW_PRIVATE_ADDRS");
  std::vector<std::string> kad_protocols{std::string(default_text("KAD_PROTOCOL"))};
  KadInsert kad_insert = KadInsert::kAll;  // KAD_INSERT (options table: "all")
  QuicRetry quic_retry = QuicRetry::kAuto;  // QUIC_RETRY (options table: "auto")
  std::chrono::seconds peer_max_age{default_of<std::int64_t>("PEER_MAX_AGE_SECS")};
  std::string identify_protocol_version{default_text("IDENTIFY_PROTOCOL_VERSION")};
  std::uint32_t max_connections = default_of<std::uint32_t>("MAX_CONNECTIONS");
  std::uint32_t max_connections_per_peer = default_of<std::uint32_t>("MAX_CONNECTIONS_PER_PEER");
  std::uint32_t max_connections_per_ip = default_of<std::uint32_t>("MAX_CONNECTIONS_PER_IP");
  std::uint32_t max_streams_per_connection = default_of<std::uint32_t>("MAX_STREAMS_PER_CONNECTION");
  std::uint32_t max_memory_mb = default_of<std::uint32_t>("MAX_MEMORY_MB");
  std::uint32_t max_handshakes = default_of<std::uint32_t>("MAX_HANDSHAKES");
  std::uint32_t max_handshakes_per_ip = default_of<std::uint32_t>("MAX_HANDSHAKES_PER_IP");
  // wiring: NETWORK_THREADS (issue 13); load_config turns the table's 0 into the number of cores.
  std::uint32_t network_threads = default_of<std::uint32_t>("NETWORK_THREADS");
  std::chrono::seconds idle_timeout{default_of<std::int64_t>("IDLE_TIMEOUT_SECS")};
  std::chrono::seconds ping_interval{default_of<std::int64_t>("PING_INTERVAL_SECS")};
  std::chrono::seconds handshake_timeout{default_of<std::int64_t>("HANDSHAKE_TIMEOUT_SECS")};
  std::chrono::seconds kad_refresh_interval{default_of<std::int64_t>("KAD_REFRESH_INTERVAL_SECS")};
  std::uint32_t kad_max_records = default_of<std::uint32_t>("KAD_MAX_RECORDS");
  std::uint32_t kad_max_records_per_peer = default_of<std::uint32_t>("KAD_MAX_RECORDS_PER_PEER");
  std::uint32_t kad_max_records_per_ip = default_of<std::uint32_t>("KAD_MAX_RECORDS_PER_IP");
  std::uint32_t kad_max_providers = default_of<std::uint32_t>("KAD_MAX_PROVIDERS");
  std::uint32_t kad_max_providers_per_peer = default_of<std::uint32_t>("KAD_MAX_PROVIDERS_PER_PEER");
  std::uint32_t kad_max_providers_per_ip = default_of<std::uint32_t>("KAD_MAX_PROVIDERS_PER_IP");
  std::chrono::seconds log_summary_interval{default_of<std::int64_t>("LOG_SUMMARY_INTERVAL_SECS")};
  std::chrono::seconds storage_maintenance_interval{default_of<std::int64_t>("STORAGE_MAINTENANCE_INTERVAL_SECS")};
  std::chrono::seconds fleet_heartbeat{default_of<std::int64_t>("FLEET_HEARTBEAT_SECS")};
  std::chrono::seconds reverify_interval{default_of<std::int64_t>("REVERIFY_INTERVAL_SECS")};
  std::chrono::seconds fleet_pull{default_of<std::int64_t>("FLEET_PULL_SECS")};
  std::chrono::seconds relay_reservation_ttl{default_of<std::int64_t>("RELAY_RESERVATION_TTL_SECS")};
  std::chrono::seconds relay_circuit_duration{default_of<std::int64_t>("RELAY_CIRCUIT_DURATION_SECS")};
  std::uint64_t relay_circuit_max_bytes = default_of<std::uint64_t>("RELAY_CIRCUIT_MAX_BYTES");
  std::string health_bind{default_text("HEALTH_BIND")};
  bool http_dashboard = default_of<bool>("HTTP_DASHBOARD");
  LogFormat log_format = LogFormat::kText;  // LOG_FORMAT (options table: "text")

  // Things worth a log line once logging is up (e.g. a .env line that was
  // skipped, a RUST_LOG target directive we cannot honour).
  std::vector<std::string> warnings;
};

// Print `text` (stdout when code == 0, stderr otherwise) and exit with `code`.
struct EarlyExit {
  int code = 0;
  std::string text;
};

using LoadResult = std::variant<Config, EarlyExit>;

// Parses argv (argv[0] is the program name), reads `dotenv_path` if it
// exists (a missing file is fine, as it was for the Rust node) and resolves
// every setting. `env` is the process environment; it wins over the file.
LoadResult load_config(int argc, const char* const* argv, const EnvSource& env,
                       const std::filesystem::path& dotenv_path = ".env");

// Writes an EarlyExit's text to the right stream and returns its code, for
// `return print_early_exit(e);` in main().
int print_early_exit(const EarlyExit& e);

}  // namespace mp::app

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

#include "core/multiaddr.hpp"
#include "core/result.hpp"

namespace mp::app {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kText, kJson };

// Which peers learned from connections go into the Kademlia routing table.
enum class KadInsert {
  kAll,      // every peer we talk to (the Rust node's behaviour)
  kServers,  // only peers that advertise a Kademlia protocol via identify
};

// What the process was asked to do.
enum class Command {
  kRun,         // run the bootstrap node (no subcommand)
  kPeersStats,  // peers stats: print peer store statistics
  kPeersList,   // peers list: print stored peers and addresses
  kPeersGc,     // peers gc: delete peers older than PEER_MAX_AGE_SECS
  kProbe,       // probe <multiaddr>: dial, handshake, identify, report
};

struct Config {
  Command command = Command::kRun;
  std::optional<Multiaddr> probe_target;  // set for Command::kProbe

  // --- Variables of the Rust node (same names, meaning and defaults) ---
  std::uint16_t bootstrap_port = 4001;     // BOOTSTRAP_PORT
  std::uint16_t health_port = 8000;        // HEALTH_PORT
  // PEER_ID_SEED (Ed25519 key = SHA-256(seed)). Unset: a random key kept in
  // DATA_DIR/identity.key.
  std::optional<std::string> peer_id_seed;
  std::filesystem::path data_dir = "./data";  // DATA_DIR
  // RUST_LOG or LOG_LEVEL: the raw filter text and the level we apply.
  std::string log_filter = "info";
  LogLevel log_level = LogLevel::kInfo;
  // True when --log-level set it: a flag cannot change under a running
  // process, so SIGHUP leaves the level alone (see reload_logging()).
  bool log_level_pinned = false;
  // LOG_FILE: append log lines to this file instead of stdout; SIGHUP
  // reopens it (logrotate's move-then-HUP). Empty: stdout.
  std::filesystem::path log_file;
  bool relay_enabled = true;                 // RELAY_ENABLED
  std::uint32_t relay_max_circuits = 100;    // RELAY_MAX_CIRCUITS: reservations and circuits
  std::uint32_t relay_max_per_peer = 10;     // RELAY_MAX_PER_PEER: per-peer reservations and circuits
  std::uint32_t relay_max_per_ip = 32;       // RELAY_MAX_PER_IP: the same per IP address
  std::uint32_t relay_max_per_subnet = 64;   // RELAY_MAX_PER_SUBNET: per IPv4 /24 or IPv6 /48
  // RELAY_MAX_BYTES_PER_SEC. Despite its name the Rust node passed it to
  // rust-libp2p as max_circuit_bytes (a per-circuit byte budget), so it is
  // the default of relay_circuit_max_bytes below.
  std::uint64_t relay_max_bytes_per_sec = 1'000'000;

  // --- Ours ---
  // LISTEN_ADDRS / --listen. Default: /ip4/0.0.0.0/tcp/<BOOTSTRAP_PORT>.
  std::vector<Multiaddr> listen_addrs;
  bool listen_addrs_defaulted = false;  // true when LISTEN_ADDRS/--listen were not given
  std::vector<Multiaddr> bootstrap_peers;  // BOOTSTRAP_PEERS / --bootstrap-peer (with /p2p/)
  bool allow_private_addrs = false;        // ALLOW_PRIVATE_ADDRS
  std::vector<std::string> kad_protocols{"/ipfs/kad/1.0.0"};  // KAD_PROTOCOL
  KadInsert kad_insert = KadInsert::kAll;                     // KAD_INSERT
  std::chrono::seconds peer_max_age{604800};                  // PEER_MAX_AGE_SECS
  std::string identify_protocol_version = "/mepassa/1.0.0";   // IDENTIFY_PROTOCOL_VERSION
  std::uint32_t max_connections = 10000;                      // MAX_CONNECTIONS
  std::uint32_t max_connections_per_peer = 8;                 // MAX_CONNECTIONS_PER_PEER
  std::uint32_t max_connections_per_ip = 64;                  // MAX_CONNECTIONS_PER_IP
  std::uint32_t max_streams_per_connection = 256;             // MAX_STREAMS_PER_CONNECTION
  std::uint32_t max_memory_mb = 512;                          // MAX_MEMORY_MB
  std::uint32_t max_handshakes = 256;                         // MAX_HANDSHAKES
  std::uint32_t max_handshakes_per_ip = 32;                   // MAX_HANDSHAKES_PER_IP
  std::chrono::seconds idle_timeout{60};                      // IDLE_TIMEOUT_SECS
  std::chrono::seconds ping_interval{15};                     // PING_INTERVAL_SECS
  std::chrono::seconds handshake_timeout{10};                 // HANDSHAKE_TIMEOUT_SECS
  std::chrono::seconds kad_refresh_interval{300};             // KAD_REFRESH_INTERVAL_SECS
  std::uint32_t kad_max_records = 1024;                       // KAD_MAX_RECORDS
  std::uint32_t kad_max_records_per_peer = 64;                // KAD_MAX_RECORDS_PER_PEER
  std::uint32_t kad_max_records_per_ip = 128;                 // KAD_MAX_RECORDS_PER_IP
  std::uint32_t kad_max_providers = 65536;                    // KAD_MAX_PROVIDERS
  std::uint32_t kad_max_providers_per_peer = 1024;            // KAD_MAX_PROVIDERS_PER_PEER
  std::uint32_t kad_max_providers_per_ip = 2048;              // KAD_MAX_PROVIDERS_PER_IP
  std::chrono::seconds log_summary_interval{60};              // LOG_SUMMARY_INTERVAL_SECS
  std::chrono::seconds storage_maintenance_interval{300};     // STORAGE_MAINTENANCE_INTERVAL_SECS
  std::chrono::seconds relay_reservation_ttl{3600};           // RELAY_RESERVATION_TTL_SECS
  std::chrono::seconds relay_circuit_duration{120};           // RELAY_CIRCUIT_DURATION_SECS
  std::uint64_t relay_circuit_max_bytes = 1'000'000;          // RELAY_CIRCUIT_MAX_BYTES
  std::string health_bind = "0.0.0.0";                        // HEALTH_BIND
  bool http_dashboard = true;                                 // HTTP_DASHBOARD
  LogFormat log_format = LogFormat::kText;                    // LOG_FORMAT

  // Things worth a log line once logging is up (e.g. a .env line that was
  // skipped, a RUST_LOG target directive we cannot honour).
  std::vector<std::string> warnings;
};

// Where environment variables come from; tests pass a map.
class EnvSource {
 public:
  virtual ~EnvSource() = default;
  virtual std::optional<std::string> get(const std::string& name) const = 0;
};

// The real process environment (getenv).
class ProcessEnv final : public EnvSource {
 public:
  std::optional<std::string> get(const std::string& name) const override;
};

class MapEnv final : public EnvSource {
 public:
  MapEnv() = default;
  explicit MapEnv(std::map<std::string, std::string> vars) : vars_(std::move(vars)) {}
  std::optional<std::string> get(const std::string& name) const override;
  void set(std::string name, std::string value) { vars_[std::move(name)] = std::move(value); }

 private:
  std::map<std::string, std::string> vars_;
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

// --- Pieces exposed for tests and for other tools ---

// dotenv syntax as dotenvy accepted it: KEY=VALUE lines, optional `export `
// prefix, `#` comments (whole line, or after whitespace in an unquoted
// value), 'single' quotes taken literally, "double" quotes with \n \t \" \\ \$
// escapes and possibly spanning lines, $VAR / ${VAR} substitution in unquoted
// and double-quoted values (from the process environment first, then from
// earlier lines). Lines that cannot be parsed are skipped and reported in
// `warnings` as "line <n>: <problem>".
struct DotenvFile {
  std::map<std::string, std::string> vars;
  std::vector<std::string> warnings;
};
DotenvFile parse_dotenv(std::string_view text, const EnvSource& env);
// Reads and parses the .env file at `path` (at start, and again on SIGHUP):
// no file is an empty DotenvFile, an unreadable one an error naming it; the
// warnings name the file.
Result<DotenvFile> read_dotenv(const std::filesystem::path& path, const EnvSource& env);

// RUST_LOG / LOG_LEVEL value: a plain level (trace, debug, info, warn,
// error, off; any case; "warning" too; 0-5 as in tracing) or a tracing
// EnvFilter such as "info,libp2p=debug". We apply one level to the whole
// node: the leading bare level, or if there is none the most verbose
// target level. An unknown bare level is an error; target directives that
// cannot be read are ignored with a warning (EnvFilter ignored them too).
struct LogFilter {
  LogLevel level = LogLevel::kInfo;
  std::vector<std::string> warnings;
};
Result<LogFilter> parse_log_filter(std::string_view text);

std::string_view to_string(LogLevel level);

}  // namespace mp::app

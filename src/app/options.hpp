// The node's options, one row each: the single source of the environment
// variable (and its alias), the command-line flag, the default, the --help
// text and the accepted range. `Config`'s member defaults are read from this
// table at compile time (default_of), --help is generated from it, and
// load_config validates numbers against its ranges; the module structs the
// node fills (relay::RelayLimits, kad store limits) are checked against it
// where the node wires them (node.cpp, static_assert).
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace mp::app {

enum class OptionKind {
  kPort,     // 0-65535
  kCount,    // min-2^32-1
  kSeconds,  // min-2^32-1 seconds
  kBytes,    // 0-2^64-1
  kBool,     // true|false|1|0|yes|no|on|off, the flag takes a value
  kSwitch,   // a boolean whose flag takes no value
  kText,     // checked by load_config
  kList,     // comma-separated in the variable; the flag is repeatable
};

struct Option {
  std::string_view var;      // environment variable
  std::string_view alt_var;  // accepted alias, or empty
  std::string_view flag;     // long option
  std::string_view type;     // value name in --help
  OptionKind kind;
  std::uint64_t value;       // default of numbers, seconds and booleans (0/1)
  std::uint64_t min;         // smallest accepted number
  std::string_view text;     // default of texts and lists
  std::string_view shown;    // the default as --help words it, when not plain
  std::string_view help;
};

namespace options_detail {
inline constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();
}

// Order = --help order.
inline constexpr Option kOptions[] = {
    {"BOOTSTRAP_PORT", "", "--bootstrap-port", "PORT", OptionKind::kPort, 4001, 0, "", "",
     "libp2p port, TCP and QUIC over UDP (used when LISTEN_ADDRS is unset)"},
    {"HEALTH_PORT", "", "--health-port", "PORT", OptionKind::kPort, 8000, 0, "", "",
     "HTTP port for /health and /metrics"},
    {"HEALTH_BIND", "", "--health-bind", "IP", OptionKind::kText, 0, 0, "0.0.0.0", "",
     "address the HTTP endpoint binds to"},
    {"HTTP_DASHBOARD", "", "--http-dashboard", "BOOL", OptionKind::kBool, 1, 0, "", "",
     "read-only status page at / (and /api/status) on the HTTP port; false: 404"},
    {"PEER_ID_SEED", "", "--peer-id-seed", "TEXT", OptionKind::kText, 0, 0, "",
     "none (random key in DATA_DIR/identity.key)",
     "seed of the node key (Ed25519 secret = SHA-256(seed), as the Rust node); only as secret as the seed"},
    {"DATA_DIR", "", "--data-dir", "DIR", OptionKind::kText, 0, 0, "./data", "",
     "directory of the identity key and the peer store (dht.db)"},
    {"DATABASE_URL", "", "--database-url", "URL", OptionKind::kText, 0, 0, "", "none (SQLite in DATA_DIR/dht.db)",
     "postgres://user:password@host:port/db: keep the peer store in PostgreSQL 15+ instead of DATA_DIR/dht.db "
     "(the password is never logged)"},
    {"FLEET_HEARTBEAT_SECS", "", "--fleet-heartbeat-secs", "SECS", OptionKind::kSeconds, 5, 1, "", "",
     "with DATABASE_URL: how often this node writes its row in bootstrap_nodes (silent for 3 intervals: gone)"},
    {"FLEET_PULL_SECS", "", "--fleet-pull-secs", "SECS", OptionKind::kSeconds, 2, 1, "", "",
     "with DATABASE_URL: how often this node pulls the peers the others stored (NOTIFY wakes it sooner)"},
    {"REVERIFY_INTERVAL_SECS", "", "--reverify-interval-secs", "SECS", OptionKind::kSeconds, 600, 0, "", "",
     "how often the routing-table peers not connected and not seen for this long are dialed again (0: off)"},
    {"RUST_LOG", "LOG_LEVEL", "--log-level", "LEVEL", OptionKind::kText, 0, 0, "info", "",
     "trace|debug|info|warn|error|off, or a tracing filter such as info,libp2p=debug"},
    {"LOG_FORMAT", "", "--log-format", "text|json", OptionKind::kText, 0, 0, "text", "",
     "json writes one JSON object per line (ts, level, msg, logger)"},
    {"LOG_FILE", "", "--log-file", "PATH", OptionKind::kText, 0, 0, "", "none (stdout)",
     "append log lines to this file; SIGHUP reopens it (logrotate)"},
    {"LOG_SUMMARY_INTERVAL_SECS", "", "--log-summary-interval-secs", "SECS", OptionKind::kSeconds, 60, 1, "", "",
     "how often refused and failed events (counted, not logged one by one) are summarised at info"},
    {"LISTEN_ADDRS", "", "--listen", "MULTIADDR", OptionKind::kList, 0, 0, "",
     "/ip4/0.0.0.0/tcp/<BOOTSTRAP_PORT>,/ip6/::/tcp/<BOOTSTRAP_PORT>,"
     "/ip4/0.0.0.0/udp/<BOOTSTRAP_PORT>/quic-v1,/ip6/::/udp/<BOOTSTRAP_PORT>/quic-v1",
     "listen multiaddrs, comma-separated (flag repeatable)"},
    {"BOOTSTRAP_PEERS", "", "--bootstrap-peer", "MULTIADDR", OptionKind::kList, 0, 0, "", "none",
     "other bootstrap nodes, .../p2p/<peer-id>, comma-separated (flag repeatable)"},
    {"ALLOW_PRIVATE_ADDRS", "", "--allow-private-addrs", "BOOL", OptionKind::kSwitch, 0, 0, "", "",
     "keep and hand out private/loopback addresses (test networks)"},
    {"KAD_PROTOCOL", "", "--kad-protocol", "PROTOCOL", OptionKind::kList, 0, 0, "/ipfs/kad/1.0.0", "",
     "Kademlia protocol IDs to serve, comma-separated (flag repeatable)"},
    {"KAD_INSERT", "", "--kad-insert", "all|servers", OptionKind::kText, 0, 0, "all", "",
     "routing table admission: every peer, or only peers advertising Kademlia"},
    {"KAD_REFRESH_INTERVAL_SECS", "", "--kad-refresh-interval-secs", "SECS", OptionKind::kSeconds, 300, 1, "", "",
     "interval between routing table refreshes"},
    {"KAD_MAX_RECORDS", "", "--kad-max-records", "N", OptionKind::kCount, 1024, 1, "", "",
     "DHT records (PUT_VALUE) stored in total"},
    {"KAD_MAX_RECORDS_PER_PEER", "", "--kad-max-records-per-peer", "N", OptionKind::kCount, 64, 1, "", "",
     "DHT records stored per sending peer"},
    {"KAD_MAX_RECORDS_PER_IP", "", "--kad-max-records-per-ip", "N", OptionKind::kCount, 128, 1, "", "",
     "DHT records stored per sending IP address"},
    {"KAD_MAX_PROVIDERS", "", "--kad-max-providers", "N", OptionKind::kCount, 65536, 1, "", "",
     "provider records (ADD_PROVIDER) stored in total"},
    {"KAD_MAX_PROVIDERS_PER_PEER", "", "--kad-max-providers-per-peer", "N", OptionKind::kCount, 1024, 1, "", "",
     "provider records stored per providing peer"},
    {"KAD_MAX_PROVIDERS_PER_IP", "", "--kad-max-providers-per-ip", "N", OptionKind::kCount, 2048, 1, "", "",
     "provider records stored per sending IP address"},
    {"PEER_MAX_AGE_SECS", "", "--peer-max-age-secs", "SECS", OptionKind::kSeconds, 604800, 1, "", "",
     "peers not seen for this long are deleted from the store"},
    {"STORAGE_MAINTENANCE_INTERVAL_SECS", "", "--storage-maintenance-interval-secs", "SECS", OptionKind::kSeconds,
     300, 1, "", "", "interval between peer store clean-ups"},
    {"IDENTIFY_PROTOCOL_VERSION", "", "--identify-protocol-version", "TEXT", OptionKind::kText, 0, 0,
     "/mepassa/1.0.0", "", "protocolVersion sent in identify"},
    {"MAX_CONNECTIONS", "", "--max-connections", "N", OptionKind::kCount, 10000, 1, "", "", "connections in total"},
    {"MAX_CONNECTIONS_PER_PEER", "", "--max-connections-per-peer", "N", OptionKind::kCount, 8, 1, "", "",
     "connections per peer ID"},
    {"MAX_CONNECTIONS_PER_IP", "", "--max-connections-per-ip", "N", OptionKind::kCount, 64, 1, "", "",
     "connections per remote IP address"},
    {"MAX_STREAMS_PER_CONNECTION", "", "--max-streams-per-connection", "N", OptionKind::kCount, 256, 1, "", "",
     "concurrent Yamux streams per connection"},
    {"MAX_MEMORY_MB", "", "--max-memory-mb", "MB", OptionKind::kCount, 512, 16, "", "",
     "memory peers may make the node hold (stream buffers, queued answers, identify); "
     "1/8 of it per IP, 1/16 per peer, 1/32 per connection"},
    {"MAX_HANDSHAKES", "", "--max-handshakes", "N", OptionKind::kCount, 256, 1, "", "",
     "inbound connections still in the handshakes, TCP and QUIC together (apart from MAX_CONNECTIONS)"},
    {"MAX_HANDSHAKES_PER_IP", "", "--max-handshakes-per-ip", "N", OptionKind::kCount, 32, 1, "", "",
     "handshakes in progress per remote IP address"},
    // QUIC address validation (issue 14).
    {"QUIC_RETRY", "", "--quic-retry", "auto|always|never", OptionKind::kText, 0, 0, "auto", "",
     "ask new QUIC clients to prove their address with a Retry: auto (when half of MAX_HANDSHAKES "
     "are in progress), always or never"},
    // wiring: NETWORK_THREADS (issue 13); 0 stands for "the number of cores" (load_config).
    {"NETWORK_THREADS", "", "--network-threads", "N", OptionKind::kCount, 0, 1, "", "the number of cores",
     "network threads, 1-64: with N > 1, TCP and QUIC connections (inbound and dialled) are "
     "spread over N threads (each connection, its handshake and its stream answers on one), the "
     "shared state on the main thread; 1: everything on one thread"},
    {"PING_INTERVAL_SECS", "", "--ping-interval-secs", "SECS", OptionKind::kSeconds, 15, 1, "", "",
     "how often each connected peer is pinged (rust-libp2p's default)"},
    {"IDLE_TIMEOUT_SECS", "", "--idle-timeout-secs", "SECS", OptionKind::kSeconds, 60, 1, "", "",
     "close connections without streams after this long"},
    {"HANDSHAKE_TIMEOUT_SECS", "", "--handshake-timeout-secs", "SECS", OptionKind::kSeconds, 10, 1, "", "",
     "time allowed for the security and muxer handshakes"},
    {"RELAY_ENABLED", "", "--relay-enabled", "BOOL", OptionKind::kBool, 1, 0, "", "",
     "serve circuit relay v2 (hop)"},
    {"RELAY_MAX_CIRCUITS", "", "--relay-max-circuits", "N", OptionKind::kCount, 100, 0, "", "",
     "relay reservations and circuits in total"},
    {"RELAY_MAX_PER_PEER", "", "--relay-max-per-peer", "N", OptionKind::kCount, 10, 0, "", "",
     "relay reservations and circuits per peer"},
    {"RELAY_MAX_PER_IP", "", "--relay-max-per-ip", "N", OptionKind::kCount, 32, 0, "", "",
     "relay reservations and circuits per IP address"},
    {"RELAY_MAX_PER_SUBNET", "", "--relay-max-per-subnet", "N", OptionKind::kCount, 64, 0, "", "",
     "relay reservations and circuits per network (IPv4 /24, IPv6 /48)"},
    {"RELAY_MAX_BYTES_PER_SEC", "", "--relay-max-bytes-per-sec", "BYTES", OptionKind::kBytes, 1'000'000, 0, "", "",
     "bytes relayed per circuit (the Rust node's meaning); default of RELAY_CIRCUIT_MAX_BYTES"},
    {"RELAY_CIRCUIT_MAX_BYTES", "", "--relay-circuit-max-bytes", "BYTES", OptionKind::kBytes, 1'000'000, 0, "",
     "RELAY_MAX_BYTES_PER_SEC", "bytes relayed per circuit before it is closed (0 = no limit)"},
    {"RELAY_CIRCUIT_DURATION_SECS", "", "--relay-circuit-duration-secs", "SECS", OptionKind::kSeconds, 120, 1, "",
     "", "lifetime of a relayed circuit"},
    {"RELAY_RESERVATION_TTL_SECS", "", "--relay-reservation-ttl-secs", "SECS", OptionKind::kSeconds, 3600, 1, "",
     "", "lifetime of a relay reservation"},
};

// The row of `var`; naming a variable the table lacks does not compile
// where it is used in a constant expression.
constexpr const Option& option(std::string_view var) {
  for (const auto& o : kOptions) {
    if (o.var == var) return o;
  }
  throw "no such option";
}

// A numeric default as the member type that holds it.
template <typename T>
consteval T default_of(std::string_view var) {
  return static_cast<T>(option(var).value);
}

consteval std::string_view default_text(std::string_view var) { return option(var).text; }

// The largest number an option of `kind` accepts.
constexpr std::uint64_t max_of(OptionKind kind) {
  switch (kind) {
    case OptionKind::kPort:
      return 65535;
    case OptionKind::kCount:
    case OptionKind::kSeconds:
      return options_detail::kU32;
    case OptionKind::kBool:
    case OptionKind::kSwitch:
      return 1;
    default:
      return std::numeric_limits<std::uint64_t>::max();
  }
}

}  // namespace mp::app

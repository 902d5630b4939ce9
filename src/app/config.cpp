#include "app/config.hpp"

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside
// CLI11's string splitting (inlined std::vector<std::string> growth).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <CLI/CLI.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "core/peer_id.hpp"

namespace mp::app {

// ---------------------------------------------------------------------------
// Environment sources

std::optional<std::string> ProcessEnv::get(const std::string& name) const {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> MapEnv::get(const std::string& name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

int print_early_exit(const EarlyExit& e) {
  auto& os = e.code == 0 ? std::cout : std::cerr;
  os << e.text;
  if (!e.text.empty() && e.text.back() != '\n') os << '\n';
  os.flush();
  return e.code;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool is_key_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (!first && (std::isdigit(static_cast<unsigned char>(c)) || c == '.'));
}

}  // namespace

// ---------------------------------------------------------------------------
// .env

namespace {

// Cursor over the whole file: double-quoted values may span lines.
struct DotenvParser {
  std::string_view text;
  std::size_t pos = 0;
  int line = 1;
  const EnvSource& env;
  DotenvFile& out;

  bool at_end() const { return pos >= text.size(); }
  char peek() const { return text[pos]; }
  void advance() {
    if (text[pos] == '\n') ++line;
    ++pos;
  }
  void skip_blanks() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) advance();
  }
  void skip_to_next_line() {
    while (!at_end() && peek() != '\n') advance();
    if (!at_end()) advance();
  }
  void warn(int at_line, const std::string& what) {
    out.warnings.push_back("line " + std::to_string(at_line) + ": " + what);
  }

  std::string lookup(const std::string& name) const {
    // The real environment wins over the file, as for plain variables.
    if (auto v = env.get(name)) return *v;
    auto it = out.vars.find(name);
    return it == out.vars.end() ? std::string() : it->second;
  }

  // $NAME or ${NAME} at text[pos] == '$'. Appends the value to `value`.
  void substitute(std::string& value) {
    advance();  // '$'
    std::string name;
    if (!at_end() && peek() == '{') {
      advance();
      while (!at_end() && peek() != '}' && peek() != '\n') {
        name.push_back(peek());
        advance();
      }
      if (!at_end() && peek() == '}') advance();
    } else {
      while (!at_end() && is_key_char(peek(), name.empty())) {
        name.push_back(peek());
        advance();
      }
      if (name.empty()) {
        value.push_back('$');
        return;
      }
    }
    value += lookup(name);
  }

  void parse() {
    while (!at_end()) {
      skip_blanks();
      if (at_end()) break;
      if (peek() == '\n' || peek() == '\r' || peek() == '#') {
        skip_to_next_line();
        continue;
      }
      const int start_line = line;
      std::string key;
      while (!at_end() && is_key_char(peek(), key.empty())) {
        key.push_back(peek());
        advance();
      }
      if (key == "export" && !at_end() && (peek() == ' ' || peek() == '\t')) {
        skip_blanks();
        key.clear();
        while (!at_end() && is_key_char(peek(), key.empty())) {
          key.push_back(peek());
          advance();
        }
      }
      skip_blanks();
      if (key.empty() || at_end() || peek() != '=') {
        warn(start_line, key.empty() ? "expected a variable name" : "expected '=' after " + key);
        skip_to_next_line();
        continue;
      }
      advance();  // '='
      skip_blanks();
      std::string value;
      bool ok = true;
      if (!at_end() && peek() == '\'') {
        advance();
        while (!at_end() && peek() != '\'') {
          value.push_back(peek());
          advance();
        }
        if (at_end()) ok = false; else advance();
      } else if (!at_end() && peek() == '"') {
        advance();
        while (!at_end() && peek() != '"') {
          if (peek() == '\\' && pos + 1 < text.size()) {
            advance();
            switch (peek()) {
              case 'n': value.push_back('\n'); break;
              case 't': value.push_back('\t'); break;
              case 'r': value.push_back('\r'); break;
              case '"': value.push_back('"'); break;
              case '\\': value.push_back('\\'); break;
              case '$': value.push_back('$'); break;
              case '\'': value.push_back('\''); break;
              default:
                value.push_back('\\');
                value.push_back(peek());
            }
            advance();
          } else if (peek() == '$') {
            substitute(value);
          } else {
            value.push_back(peek());
            advance();
          }
        }
        if (at_end()) ok = false; else advance();
      } else {
        // Unquoted: up to end of line; " #" starts a comment.
        while (!at_end() && peek() != '\n') {
          if (peek() == '#' && (value.empty() || value.back() == ' ' || value.back() == '\t')) break;
          if (peek() == '$') {
            substitute(value);
            continue;
          }
          value.push_back(peek());
          advance();
        }
        value = std::string(trim(value));
      }
      if (!ok) {
        warn(start_line, "unterminated quoted value for " + key);
        break;
      }
      // Anything after a closing quote must be blank or a comment.
      skip_blanks();
      if (!at_end() && peek() != '\n' && peek() != '\r' && peek() != '#') {
        warn(start_line, "unexpected text after the value of " + key);
        skip_to_next_line();
        continue;
      }
      skip_to_next_line();
      out.vars[key] = std::move(value);
    }
  }
};

}  // namespace

Result<DotenvFile> read_dotenv(const std::filesystem::path& path, const EnvSource& env) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return DotenvFile{};
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return make_error("cannot read " + path.string());
  DotenvFile file = parse_dotenv(ss.str(), env);
  for (auto& w : file.warnings) w = path.string() + ": " + w;
  return file;
}

DotenvFile parse_dotenv(std::string_view text, const EnvSource& env) {
  DotenvFile file;
  DotenvParser p{text, 0, 1, env, file};
  p.parse();
  return file;
}

// ---------------------------------------------------------------------------
// Log filter

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

namespace {

std::optional<LogLevel> parse_level(std::string_view text) {
  const std::string t = lower(trim(text));
  // tracing's LevelFilter also reads 0 (off) to 5 (trace).
  if (t == "trace" || t == "5") return LogLevel::kTrace;
  if (t == "debug" || t == "4") return LogLevel::kDebug;
  if (t == "info" || t == "3") return LogLevel::kInfo;
  if (t == "warn" || t == "warning" || t == "2") return LogLevel::kWarn;
  if (t == "error" || t == "1") return LogLevel::kError;
  if (t == "off" || t == "0") return LogLevel::kOff;
  return std::nullopt;
}

}  // namespace

Result<LogFilter> parse_log_filter(std::string_view text) {
  LogFilter f;
  std::optional<LogLevel> bare;
  std::optional<LogLevel> most_verbose_target;
  std::size_t start = 0;
  bool any = false;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view d = trim(text.substr(start, end - start));
    start = end + 1;
    if (d.empty()) continue;
    any = true;
    const auto eq = d.rfind('=');
    if (eq == std::string_view::npos) {
      // A directive without '=' is either a level or a bare target name
      // (which EnvFilter enables at trace). Only the first form is useful
      // here; a name that looks like neither level nor target is an error.
      if (auto l = parse_level(d)) {
        bare = *l;
      } else {
        return make_error("unknown log level \"" + std::string(d) +
                          "\" (expected trace, debug, info, warn, error or off)");
      }
    } else if (auto l = parse_level(d.substr(eq + 1))) {
      if (!most_verbose_target || *l < *most_verbose_target) most_verbose_target = *l;
    } else {
      f.warnings.push_back("log filter directive \"" + std::string(d) + "\" ignored");
    }
  }
  if (!any) return make_error("empty log level");
  if (bare) {
    f.level = *bare;
  } else if (most_verbose_target) {
    f.level = *most_verbose_target;
  }
  return f;
}

// ---------------------------------------------------------------------------
// Settings table

namespace {

enum class Shape { kSingle, kList, kSwitch };

struct Setting {
  const char* var;      // environment variable
  const char* alt_var;  // accepted alias, or nullptr
  const char* flag;     // long option
  const char* type;     // shown in --help
  const char* def;      // default as shown in --help
  const char* help;
  Shape shape = Shape::kSingle;
};

// Order = --help order. Defaults here must match the Config initialisers.
const Setting kSettings[] = {
    {"BOOTSTRAP_PORT", nullptr, "--bootstrap-port", "PORT", "4001",
     "TCP port of the libp2p listener (used when LISTEN_ADDRS is unset)"},
    {"HEALTH_PORT", nullptr, "--health-port", "PORT", "8000", "HTTP port for /health and /metrics"},
    {"HEALTH_BIND", nullptr, "--health-bind", "IP", "0.0.0.0", "address the HTTP endpoint binds to"},
    {"HTTP_DASHBOARD", nullptr, "--http-dashboard", "BOOL", "true",
     "read-only status page at / (and /api/status) on the HTTP port; false: 404"},
    {"PEER_ID_SEED", nullptr, "--peer-id-seed", "TEXT", "none (random key in DATA_DIR/identity.key)",
     "seed of the node key (Ed25519 secret = SHA-256(seed), as the Rust node); only as secret as the seed"},
    {"DATA_DIR", nullptr, "--data-dir", "DIR", "./data", "directory of the identity key and the peer store (dht.db)"},
    {"RUST_LOG", "LOG_LEVEL", "--log-level", "LEVEL", "info",
     "trace|debug|info|warn|error|off, or a tracing filter such as info,libp2p=debug"},
    {"LOG_FORMAT", nullptr, "--log-format", "text|json", "text",
     "json writes one JSON object per line (ts, level, msg, logger)"},
    {"LOG_FILE", nullptr, "--log-file", "PATH", "none (stdout)",
     "append log lines to this file; SIGHUP reopens it (logrotate)"},
    {"LOG_SUMMARY_INTERVAL_SECS", nullptr, "--log-summary-interval-secs", "SECS", "60",
     "how often refused and failed events (counted, not logged one by one) are summarised at info"},
    {"LISTEN_ADDRS", nullptr, "--listen", "MULTIADDR", "/ip4/0.0.0.0/tcp/<BOOTSTRAP_PORT>,/ip6/::/tcp/<BOOTSTRAP_PORT>",
     "listen multiaddrs, comma-separated (flag repeatable)", Shape::kList},
    {"BOOTSTRAP_PEERS", nullptr, "--bootstrap-peer", "MULTIADDR", "none",
     "other bootstrap nodes, .../p2p/<peer-id>, comma-separated (flag repeatable)", Shape::kList},
    {"ALLOW_PRIVATE_ADDRS", nullptr, "--allow-private-addrs", "BOOL", "false",
     "keep and hand out private/loopback addresses (test networks)", Shape::kSwitch},
    {"KAD_PROTOCOL", nullptr, "--kad-protocol", "PROTOCOL", "/ipfs/kad/1.0.0",
     "Kademlia protocol IDs to serve, comma-separated (flag repeatable)", Shape::kList},
    {"KAD_INSERT", nullptr, "--kad-insert", "all|servers", "all",
     "routing table admission: every peer, or only peers advertising Kademlia"},
    {"KAD_REFRESH_INTERVAL_SECS", nullptr, "--kad-refresh-interval-secs", "SECS", "300",
     "interval between routing table refreshes"},
    {"KAD_MAX_RECORDS", nullptr, "--kad-max-records", "N", "1024",
     "DHT records (PUT_VALUE) stored in total"},
    {"KAD_MAX_RECORDS_PER_PEER", nullptr, "--kad-max-records-per-peer", "N", "64",
     "DHT records stored per sending peer"},
    {"KAD_MAX_RECORDS_PER_IP", nullptr, "--kad-max-records-per-ip", "N", "128",
     "DHT records stored per sending IP address"},
    {"KAD_MAX_PROVIDERS", nullptr, "--kad-max-providers", "N", "65536",
     "provider records (ADD_PROVIDER) stored in total"},
    {"KAD_MAX_PROVIDERS_PER_PEER", nullptr, "--kad-max-providers-per-peer", "N", "1024",
     "provider records stored per providing peer"},
    {"KAD_MAX_PROVIDERS_PER_IP", nullptr, "--kad-max-providers-per-ip", "N", "2048",
     "provider records stored per sending IP address"},
    {"PEER_MAX_AGE_SECS", nullptr, "--peer-max-age-secs", "SECS", "604800",
     "peers not seen for this long are deleted from the store"},
    {"STORAGE_MAINTENANCE_INTERVAL_SECS", nullptr, "--storage-maintenance-interval-secs", "SECS",
     "300", "interval between peer store clean-ups"},
    {"IDENTIFY_PROTOCOL_VERSION", nullptr, "--identify-protocol-version", "TEXT",
     "/mepassa/1.0.0", "protocolVersion sent in identify"},
    {"MAX_CONNECTIONS", nullptr, "--max-connections", "N", "10000", "connections in total"},
    {"MAX_CONNECTIONS_PER_PEER", nullptr, "--max-connections-per-peer", "N", "8",
     "connections per peer ID"},
    {"MAX_CONNECTIONS_PER_IP", nullptr, "--max-connections-per-ip", "N", "64",
     "connections per remote IP address"},
    {"MAX_STREAMS_PER_CONNECTION", nullptr, "--max-streams-per-connection", "N", "256",
     "concurrent Yamux streams per connection"},
    {"MAX_MEMORY_MB", nullptr, "--max-memory-mb", "MB", "512",
     "memory peers may make the node hold (stream buffers, queued answers, identify); "
     "1/8 of it per IP, 1/16 per peer, 1/32 per connection"},
    {"MAX_HANDSHAKES", nullptr, "--max-handshakes", "N", "256",
     "inbound connections still in the handshakes (apart from MAX_CONNECTIONS)"},
    {"MAX_HANDSHAKES_PER_IP", nullptr, "--max-handshakes-per-ip", "N", "32",
     "handshakes in progress per remote IP address"},
    {"PING_INTERVAL_SECS", nullptr, "--ping-interval-secs", "SECS", "15",
     "how often each connected peer is pinged (rust-libp2p's default)"},
    {"IDLE_TIMEOUT_SECS", nullptr, "--idle-timeout-secs", "SECS", "60",
     "close connections without streams after this long"},
    {"HANDSHAKE_TIMEOUT_SECS", nullptr, "--handshake-timeout-secs", "SECS", "10",
     "time allowed for the security and muxer handshakes"},
    {"RELAY_ENABLED", nullptr, "--relay-enabled", "BOOL", "true", "serve circuit relay v2 (hop)"},
    {"RELAY_MAX_CIRCUITS", nullptr, "--relay-max-circuits", "N", "100",
     "relay reservations and circuits in total"},
    {"RELAY_MAX_PER_PEER", nullptr, "--relay-max-per-peer", "N", "10",
     "relay reservations and circuits per peer"},
    {"RELAY_MAX_PER_IP", nullptr, "--relay-max-per-ip", "N", "32",
     "relay reservations and circuits per IP address"},
    {"RELAY_MAX_PER_SUBNET", nullptr, "--relay-max-per-subnet", "N", "64",
     "relay reservations and circuits per network (IPv4 /24, IPv6 /48)"},
    {"RELAY_MAX_BYTES_PER_SEC", nullptr, "--relay-max-bytes-per-sec", "BYTES", "1000000",
     "bytes relayed per circuit (the Rust node's meaning); default of RELAY_CIRCUIT_MAX_BYTES"},
    {"RELAY_CIRCUIT_MAX_BYTES", nullptr, "--relay-circuit-max-bytes", "BYTES",
     "RELAY_MAX_BYTES_PER_SEC", "bytes relayed per circuit before it is closed (0 = no limit)"},
    {"RELAY_CIRCUIT_DURATION_SECS", nullptr, "--relay-circuit-duration-secs", "SECS", "120",
     "lifetime of a relayed circuit"},
    {"RELAY_RESERVATION_TTL_SECS", nullptr, "--relay-reservation-ttl-secs", "SECS", "3600",
     "lifetime of a relay reservation"},
};

// A value together with where it came from, for error messages.
struct Found {
  std::string value;
  std::string origin;  // "BOOTSTRAP_PORT" or "--bootstrap-port"
};

class Resolver {
 public:
  Resolver(const EnvSource& env, const DotenvFile& dotenv,
           const std::map<std::string, std::vector<std::string>>& flags)
      : env_(env), dotenv_(dotenv), flags_(flags) {}

  const Setting& setting(std::string_view var) const {
    for (const auto& s : kSettings) {
      if (var == s.var) return s;
    }
    throw std::logic_error("unknown setting");
  }

  // Flag, then environment, then .env; the alias is tried after the main
  // name within each layer.
  std::optional<Found> single(std::string_view var) const {
    const Setting& s = setting(var);
    if (auto it = flags_.find(s.var); it != flags_.end() && !it->second.empty()) {
      return Found{it->second.back(), std::string(s.flag) + " (" + s.var + ")"};
    }
    for (const char* name : {s.var, s.alt_var}) {
      if (name == nullptr) continue;
      if (auto v = env_.get(name)) return Found{*v, name};
    }
    for (const char* name : {s.var, s.alt_var}) {
      if (name == nullptr) continue;
      if (auto it = dotenv_.vars.find(name); it != dotenv_.vars.end()) {
        return Found{it->second, std::string(name) + " (.env)"};
      }
    }
    return std::nullopt;
  }

  // Lists: flag occurrences (each may hold commas) replace the variable.
  std::optional<std::pair<std::vector<std::string>, std::string>> list(std::string_view var) const {
    const Setting& s = setting(var);
    std::vector<std::string> items;
    if (auto it = flags_.find(s.var); it != flags_.end() && !it->second.empty()) {
      for (const auto& v : it->second) split_into(v, items);
      return std::make_pair(items, std::string(s.flag) + " (" + s.var + ")");
    }
    if (auto f = single(var)) {
      split_into(f->value, items);
      return std::make_pair(items, f->origin);
    }
    return std::nullopt;
  }

 private:
  static void split_into(std::string_view v, std::vector<std::string>& out) {
    std::size_t start = 0;
    while (start <= v.size()) {
      auto end = v.find(',', start);
      if (end == std::string_view::npos) end = v.size();
      auto item = trim(v.substr(start, end - start));
      if (!item.empty()) out.emplace_back(item);
      start = end + 1;
    }
  }

  const EnvSource& env_;
  const DotenvFile& dotenv_;
  const std::map<std::string, std::vector<std::string>>& flags_;
};

// Thrown inside load_config only, turned into EarlyExit{2, ...}.
struct BadValue {
  std::string message;
};

[[noreturn]] void bad(const Found& f, const std::string& problem) {
  throw BadValue{f.origin + "=\"" + f.value + "\": " + problem};
}

std::uint64_t parse_uint(const Found& f, std::uint64_t min, std::uint64_t max,
                         const char* what) {
  std::string_view t = trim(f.value);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  const std::string range = std::to_string(min) + "-" + std::to_string(max);
  if (t.empty() || (ec != std::errc() && ec != std::errc::result_out_of_range) ||
      ptr != t.data() + t.size()) {
    bad(f, std::string("not a number (expected ") + what + " " + range + ")");
  }
  if (ec == std::errc::result_out_of_range || v < min || v > max) {
    bad(f, std::string("out of range (expected ") + what + " " + range + ")");
  }
  return v;
}

bool parse_bool(const Found& f) {
  const std::string t = lower(trim(f.value));
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  bad(f, "not a boolean (expected true or false)");
}

constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kU64 = std::numeric_limits<std::uint64_t>::max();

std::string help_footer() {
  return "\nEvery option can also be set with the environment variable named in its\n"
         "description, or in a .env file in the working directory. Precedence:\n"
         "flag > environment > .env > default. Booleans: true/false (also 1/0, yes/no, on/off).\n";
}

}  // namespace

// ---------------------------------------------------------------------------
// load_config

LoadResult load_config(int argc, const char* const* argv, const EnvSource& env,
                       const std::filesystem::path& dotenv_path) {
  CLI::App app{"MePassa bootstrap node: Kademlia DHT bootstrap and circuit relay for the "
               "MePassa network (libp2p).",
               "mepassa-bootstrap"};
  app.set_version_flag("--version", std::string("mepassa-bootstrap ") + MP_VERSION);
  app.footer(help_footer());
  app.get_formatter()->column_width(44);
  app.fallthrough();  // node options may follow a subcommand

  std::map<std::string, std::vector<std::string>> flags;
  std::map<std::string, bool> switches;
  std::map<std::string, CLI::Option*> switch_opts;
  for (const auto& s : kSettings) {
    std::string desc = std::string(s.help) + " [env " + s.var;
    if (s.alt_var != nullptr) desc += " or " + std::string(s.alt_var);
    desc += ", default " + std::string(s.def) + "]";
    if (s.shape == Shape::kSwitch) {
      switch_opts[s.var] = app.add_flag(s.flag, switches[s.var], desc);
      continue;
    }
    auto* opt = app.add_option(s.flag, flags[s.var], desc);
    opt->type_name(s.type);
    if (s.shape == Shape::kList) {
      // One value per occurrence, occurrences accumulate.
      opt->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    } else {
      opt->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }

  auto* peers = app.add_subcommand("peers", "inspect or clean the peer store in DATA_DIR");
  peers->require_subcommand(1);
  auto* peers_stats = peers->add_subcommand("stats", "print peer store statistics");
  auto* peers_list = peers->add_subcommand("list", "print stored peers and their addresses");
  auto* peers_gc = peers->add_subcommand("gc", "delete peers older than PEER_MAX_AGE_SECS");
  auto* probe = app.add_subcommand(
      "probe", "dial a libp2p node, run the handshakes and identify, report what it says");
  std::string probe_addr;
  probe->add_option("multiaddr", probe_addr, "address to probe, e.g. /ip4/1.2.3.4/tcp/4001/p2p/12D3...")
      ->required();
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = app.exit(e, out, err);
    if (code == 0) return EarlyExit{0, out.str()};  // --help, --version
    // Usage errors exit like bad values: code 2, one line.
    std::string msg = err.str();
    if (msg.empty()) msg = e.what();
    msg = std::string(trim(msg.substr(0, msg.find('\n'))));
    return EarlyExit{2, "mepassa-bootstrap: " + msg + " (see --help)\n"};
  }
  for (auto& [var, opt] : switch_opts) {
    if (opt->count() > 0) flags[var] = {switches[var] ? "true" : "false"};
  }

  Config cfg;
  auto read = read_dotenv(dotenv_path, env);
  if (!read) return EarlyExit{2, "mepassa-bootstrap: " + read.message() + "\n"};
  const DotenvFile dotenv = std::move(*read);
  cfg.warnings.insert(cfg.warnings.end(), dotenv.warnings.begin(), dotenv.warnings.end());

  const Resolver r(env, dotenv, flags);
  try {
    if (auto f = r.single("BOOTSTRAP_PORT")) {
      cfg.bootstrap_port = static_cast<std::uint16_t>(parse_uint(*f, 0, 65535, "a port"));
    }
    if (auto f = r.single("HEALTH_PORT")) {
      cfg.health_port = static_cast<std::uint16_t>(parse_uint(*f, 0, 65535, "a port"));
    }
    if (auto f = r.single("HEALTH_BIND")) {
      const std::string ip(trim(f->value));
      // Accept what a listening socket accepts: an IP literal.
      if (!Multiaddr::parse("/ip4/" + ip).ok() && !Multiaddr::parse("/ip6/" + ip).ok()) {
        bad(*f, "not an IPv4 or IPv6 address");
      }
      cfg.health_bind = ip;
    }
    if (auto f = r.single("HTTP_DASHBOARD")) cfg.http_dashboard = parse_bool(*f);
    if (auto f = r.single("PEER_ID_SEED")) {
      if (f->value.empty()) bad(*f, "cannot be empty");
      cfg.peer_id_seed = f->value;
    }
    if (auto f = r.single("DATA_DIR")) {
      if (trim(f->value).empty()) bad(*f, "cannot be empty");
      cfg.data_dir = std::string(trim(f->value));
    }
    if (auto f = r.single("RUST_LOG")) {
      auto lf = parse_log_filter(f->value);
      if (!lf.ok()) bad(*f, lf.message());
      cfg.log_filter = f->value;
      cfg.log_level = lf->level;
      cfg.log_level_pinned = f->origin.starts_with("--");
      for (auto& w : lf->warnings) cfg.warnings.push_back(f->origin + ": " + w);
    }
    if (auto f = r.single("LOG_FORMAT")) {
      const std::string v = lower(trim(f->value));
      if (v == "text") cfg.log_format = LogFormat::kText;
      else if (v == "json") cfg.log_format = LogFormat::kJson;
      else bad(*f, "unknown log format (expected text or json)");
    }
    if (auto f = r.single("LOG_FILE")) {
      if (trim(f->value).empty()) bad(*f, "cannot be empty");
      cfg.log_file = std::string(trim(f->value));
    }

    if (auto l = r.list("LISTEN_ADDRS")) {
      if (l->first.empty()) bad(Found{"", l->second}, "no address given");
      for (const auto& text : l->first) {
        const Found item{text, l->second};
        auto ma = Multiaddr::parse(text);
        if (!ma.ok()) bad(item, "not a multiaddr: " + ma.message());
        if (!ma->tcp_endpoint()) bad(item, "can only listen on /ip4|/ip6/<ip>/tcp/<port>");
        cfg.listen_addrs.push_back(std::move(ma.value()));
      }
    } else {
      // As the Rust node: every IPv4 and IPv6 address. A machine without
      // IPv6 keeps the IPv4 listener (the node warns).
      cfg.listen_addrs.push_back(Multiaddr::ip_tcp("0.0.0.0", cfg.bootstrap_port));
      cfg.listen_addrs.push_back(Multiaddr::ip_tcp("::", cfg.bootstrap_port));
      cfg.listen_addrs_defaulted = true;
    }
    if (auto l = r.list("BOOTSTRAP_PEERS")) {
      for (const auto& text : l->first) {
        const Found item{text, l->second};
        auto ma = Multiaddr::parse(text);
        if (!ma.ok()) bad(item, "not a multiaddr: " + ma.message());
        if (!ma->peer_id()) bad(item, "must end with /p2p/<peer-id>");
        cfg.bootstrap_peers.push_back(std::move(ma.value()));
      }
    }
    if (auto f = r.single("ALLOW_PRIVATE_ADDRS")) cfg.allow_private_addrs = parse_bool(*f);
    if (auto l = r.list("KAD_PROTOCOL")) {
      if (l->first.empty()) bad(Found{"", l->second}, "no protocol given");
      cfg.kad_protocols.clear();
      for (const auto& p : l->first) {
        const bool ok = p.size() > 1 && p.front() == '/' &&
                        std::none_of(p.begin(), p.end(), [](char c) {
                          return std::isspace(static_cast<unsigned char>(c)) != 0;
                        });
        if (!ok) bad(Found{p, l->second}, "a protocol ID starts with '/' and has no spaces");
        cfg.kad_protocols.push_back(p);
      }
    }
    if (auto f = r.single("KAD_INSERT")) {
      const std::string v = lower(trim(f->value));
      if (v == "all") cfg.kad_insert = KadInsert::kAll;
      else if (v == "servers") cfg.kad_insert = KadInsert::kServers;
      else bad(*f, "unknown mode (expected all or servers)");
    }
    auto secs = [&](const char* var, std::chrono::seconds& out) {
      if (auto f = r.single(var)) out = std::chrono::seconds(parse_uint(*f, 1, kU32, "seconds"));
    };
    auto count = [&](const char* var, std::uint32_t& out, std::uint64_t min) {
      if (auto f = r.single(var)) out = static_cast<std::uint32_t>(parse_uint(*f, min, kU32, "a count"));
    };
    secs("KAD_REFRESH_INTERVAL_SECS", cfg.kad_refresh_interval);
    count("KAD_MAX_RECORDS", cfg.kad_max_records, 1);
    count("KAD_MAX_RECORDS_PER_PEER", cfg.kad_max_records_per_peer, 1);
    count("KAD_MAX_RECORDS_PER_IP", cfg.kad_max_records_per_ip, 1);
    count("KAD_MAX_PROVIDERS", cfg.kad_max_providers, 1);
    count("KAD_MAX_PROVIDERS_PER_PEER", cfg.kad_max_providers_per_peer, 1);
    count("KAD_MAX_PROVIDERS_PER_IP", cfg.kad_max_providers_per_ip, 1);
    secs("LOG_SUMMARY_INTERVAL_SECS", cfg.log_summary_interval);
    secs("PEER_MAX_AGE_SECS", cfg.peer_max_age);
    secs("STORAGE_MAINTENANCE_INTERVAL_SECS", cfg.storage_maintenance_interval);
    if (auto f = r.single("IDENTIFY_PROTOCOL_VERSION")) {
      if (trim(f->value).empty()) bad(*f, "cannot be empty");
      cfg.identify_protocol_version = f->value;
    }
    count("MAX_CONNECTIONS", cfg.max_connections, 1);
    count("MAX_CONNECTIONS_PER_PEER", cfg.max_connections_per_peer, 1);
    count("MAX_CONNECTIONS_PER_IP", cfg.max_connections_per_ip, 1);
    count("MAX_STREAMS_PER_CONNECTION", cfg.max_streams_per_connection, 1);
    count("MAX_MEMORY_MB", cfg.max_memory_mb, 16);
    count("MAX_HANDSHAKES", cfg.max_handshakes, 1);
    count("MAX_HANDSHAKES_PER_IP", cfg.max_handshakes_per_ip, 1);
    secs("IDLE_TIMEOUT_SECS", cfg.idle_timeout);
    secs("PING_INTERVAL_SECS", cfg.ping_interval);
    secs("HANDSHAKE_TIMEOUT_SECS", cfg.handshake_timeout);

    if (auto f = r.single("RELAY_ENABLED")) cfg.relay_enabled = parse_bool(*f);
    count("RELAY_MAX_CIRCUITS", cfg.relay_max_circuits, 0);
    count("RELAY_MAX_PER_PEER", cfg.relay_max_per_peer, 0);
    count("RELAY_MAX_PER_IP", cfg.relay_max_per_ip, 0);
    count("RELAY_MAX_PER_SUBNET", cfg.relay_max_per_subnet, 0);
    if (auto f = r.single("RELAY_MAX_BYTES_PER_SEC")) {
      cfg.relay_max_bytes_per_sec = parse_uint(*f, 0, kU64, "bytes");
    }
    cfg.relay_circuit_max_bytes = cfg.relay_max_bytes_per_sec;
    if (auto f = r.single("RELAY_CIRCUIT_MAX_BYTES")) {
      cfg.relay_circuit_max_bytes = parse_uint(*f, 0, kU64, "bytes");
    }
    secs("RELAY_CIRCUIT_DURATION_SECS", cfg.relay_circuit_duration);
    secs("RELAY_RESERVATION_TTL_SECS", cfg.relay_reservation_ttl);
  } catch (const BadValue& b) {
    return EarlyExit{2, "mepassa-bootstrap: configuration error: " + b.message + "\n"};
  }

  if (peers_stats->parsed()) cfg.command = Command::kPeersStats;
  if (peers_list->parsed()) cfg.command = Command::kPeersList;
  if (peers_gc->parsed()) cfg.command = Command::kPeersGc;
  if (probe->parsed()) {
    auto ma = Multiaddr::parse(probe_addr);
    if (!ma.ok()) {
      return EarlyExit{2, "mepassa-bootstrap: probe: \"" + probe_addr +
                              "\" is not a multiaddr: " + ma.message() + "\n"};
    }
    cfg.command = Command::kProbe;
    cfg.probe_target = std::move(ma.value());
  }
  return cfg;
}

}  // namespace mp::app

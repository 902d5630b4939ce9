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
#include <thread>
#include <type_traits>
#include <variant>

#include "app/text.hpp"
#include "core/peer_id.hpp"
#include "quic/address.hpp"

namespace mp::app {

using text::lower;
using text::trim;

int print_early_exit(const EarlyExit& e) {
  auto& os = e.code == 0 ? std::cout : std::cerr;
  os << e.text;
  if (!e.text.empty() && e.text.back() != '\n') os << '\n';
  os.flush();
  return e.code;
}

// ---------------------------------------------------------------------------
// Resolving options (the table is options.hpp)

namespace {

// NETWORK_THREADS' upper bound (the table's ranges have no maximum per option).
constexpr std::uint32_t kMaxNetworkThreads = 64;

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


  // Flag, then environment, then .env; the alias is tried after the main
  // name within each layer.
  std::optional<Found> single(std::string_view var) const {
    const Option& s = option(var);
    const std::string name(s.var);
    if (auto it = flags_.find(name); it != flags_.end() && !it->second.empty()) {
      return Found{it->second.back(), std::string(s.flag) + " (" + name + ")"};
    }
    for (std::string_view n : {s.var, s.alt_var}) {
      if (n.empty()) continue;
      if (auto v = env_.get(std::string(n))) return Found{*v, std::string(n)};
    }
    for (std::string_view n : {s.var, s.alt_var}) {
      if (n.empty()) continue;
      if (auto it = dotenv_.vars.find(std::string(n)); it != dotenv_.vars.end()) {
        return Found{it->second, std::string(n) + " (.env)"};
      }
    }
    return std::nullopt;
  }

  // Lists: flag occurrences (each may hold commas) replace the variable.
  std::optional<std::pair<std::vector<std::string>, std::string>> list(std::string_view var) const {
    const Option& s = option(var);
    std::vector<std::string> items;
    if (auto it = flags_.find(std::string(s.var)); it != flags_.end() && !it->second.empty()) {
      for (const auto& v : it->second) split_into(v, items);
      return std::make_pair(items, std::string(s.flag) + " (" + std::string(s.var) + ")");
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


// The default as --help shows it.
std::string shown_default(const Option& o) {
  if (!o.shown.empty()) return std::string(o.shown);
  switch (o.kind) {
    case OptionKind::kBool:
    case OptionKind::kSwitch:
      return o.value != 0 ? "true" : "false";
    case OptionKind::kText:
    case OptionKind::kList:
      return std::string(o.text);
    default:
      return std::to_string(o.value);
  }
}

// Where load_config stores each number, duration and boolean of the table
// (texts and lists are parsed one by one below).
using Target = std::variant<std::uint16_t Config::*, std::uint32_t Config::*, std::uint64_t Config::*,
                            std::chrono::seconds Config::*, bool Config::*>;
constexpr std::pair<std::string_view, Target> kTargets[] = {
    {"BOOTSTRAP_PORT", &Config::bootstrap_port},
    {"HEALTH_PORT", &Config::health_port},
    {"LOG_SUMMARY_INTERVAL_SECS", &Config::log_summary_interval},
    {"ALLOW_PRIVATE_ADDRS", &Config::allow_private_addrs},
    {"KAD_REFRESH_INTERVAL_SECS", &Config::kad_refresh_interval},
    {"KAD_MAX_RECORDS", &Config::kad_max_records},
    {"KAD_MAX_RECORDS_PER_PEER", &Config::kad_max_records_per_peer},
    {"KAD_MAX_RECORDS_PER_IP", &Config::kad_max_records_per_ip},
    {"KAD_MAX_PROVIDERS", &Config::kad_max_providers},
    {"KAD_MAX_PROVIDERS_PER_PEER", &Config::kad_max_providers_per_peer},
    {"KAD_MAX_PROVIDERS_PER_IP", &Config::kad_max_providers_per_ip},
    {"PEER_MAX_AGE_SECS", &Config::peer_max_age},
    {"STORAGE_MAINTENANCE_INTERVAL_SECS", &Config::storage_maintenance_interval},
    {"FLEET_HEARTBEAT_SECS", &Config::fleet_heartbeat},
    {"FLEET_PULL_SECS", &Config::fleet_pull},
    {"REVERIFY_INTERVAL_SECS", &Config::reverify_interval},
    {"MAX_CONNECTIONS", &Config::max_connections},
    {"MAX_CONNECTIONS_PER_PEER", &Config::max_connections_per_peer},
    {"MAX_CONNECTIONS_PER_IP", &Config::max_connections_per_ip},
    {"MAX_STREAMS_PER_CONNECTION", &Config::max_streams_per_connection},
    {"MAX_MEMORY_MB", &Config::max_memory_mb},
    {"MAX_HANDSHAKES", &Config::max_handshakes},
    {"MAX_HANDSHAKES_PER_IP", &Config::max_handshakes_per_ip},
    {"NETWORK_THREADS", &Config::network_threads},  // wiring: NETWORK_THREADS (issue 13)
    {"PING_INTERVAL_SECS", &Config::ping_interval},
    {"IDLE_TIMEOUT_SECS", &Config::idle_timeout},
    {"HANDSHAKE_TIMEOUT_SECS", &Config::handshake_timeout},
    {"RELAY_ENABLED", &Config::relay_enabled},
    {"HTTP_DASHBOARD", &Config::http_dashboard},
    {"RELAY_MAX_CIRCUITS", &Config::relay_max_circuits},
    {"RELAY_MAX_PER_PEER", &Config::relay_max_per_peer},
    {"RELAY_MAX_PER_IP", &Config::relay_max_per_ip},
    {"RELAY_MAX_PER_SUBNET", &Config::relay_max_per_subnet},
    {"RELAY_MAX_BYTES_PER_SEC", &Config::relay_max_bytes_per_sec},
    {"RELAY_CIRCUIT_DURATION_SECS", &Config::relay_circuit_duration},
    {"RELAY_RESERVATION_TTL_SECS", &Config::relay_reservation_ttl},
};

// Every number, duration and boolean of the table has its place in Config
// (RELAY_CIRCUIT_MAX_BYTES defaults to RELAY_MAX_BYTES_PER_SEC: set below).
consteval bool every_number_has_a_target() {
  for (const auto& o : kOptions) {
    if (o.kind == OptionKind::kText || o.kind == OptionKind::kList || o.var == "RELAY_CIRCUIT_MAX_BYTES") continue;
    bool found = false;
    for (const auto& t : kTargets) found = found || t.first == o.var;
    if (!found) return false;
  }
  return true;
}
static_assert(every_number_has_a_target(), "an option of options.hpp is not resolved by load_config");

const char* unit_of(OptionKind kind) {
  switch (kind) {
    case OptionKind::kPort:
      return "a port";
    case OptionKind::kSeconds:
      return "seconds";
    case OptionKind::kBytes:
      return "bytes";
    default:
      return "a count";
  }
}

// Parses `f` as `o` demands (its kind and range) into cfg.*target.
void assign(const Option& o, const Found& f, const Target& target, Config& cfg) {
  if (o.kind == OptionKind::kBool || o.kind == OptionKind::kSwitch) {
    cfg.*std::get<bool Config::*>(target) = parse_bool(f);
    return;
  }
  const std::uint64_t v = parse_uint(f, o.min, max_of(o.kind), unit_of(o.kind));
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(cfg.*member)>;
        if constexpr (std::is_same_v<T, std::chrono::seconds>) {
          cfg.*member = std::chrono::seconds(static_cast<std::int64_t>(v));
        } else if constexpr (!std::is_same_v<T, bool>) {
          cfg.*member = static_cast<T>(v);
        }
      },
      target);
}

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
  for (const auto& s : kOptions) {
    const std::string var(s.var);
    std::string desc = std::string(s.help) + " [env " + var;
    if (!s.alt_var.empty()) desc += " or " + std::string(s.alt_var);
    desc += ", default " + shown_default(s) + "]";
    if (s.kind == OptionKind::kSwitch) {
      switch_opts[var] = app.add_flag(std::string(s.flag), switches[var], desc);
      continue;
    }
    auto* opt = app.add_option(std::string(s.flag), flags[var], desc);
    opt->type_name(std::string(s.type));
    if (s.kind == OptionKind::kList) {
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
  std::optional<std::uint64_t> list_limit;
  peers_list->add_option("--limit", list_limit, "rows to print, best first (default 50; 0 = all)")
      ->type_name("N");
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
    for (const auto& [var, target] : kTargets) {
      if (auto f = r.single(var)) assign(option(var), *f, target, cfg);
    }
    // wiring: NETWORK_THREADS (issue 13): 1-64, by default the number of cores.
    if (auto f = r.single("NETWORK_THREADS"); f && cfg.network_threads > kMaxNetworkThreads) {
      bad(*f, "out of range (expected a count 1-" + std::to_string(kMaxNetworkThreads) + ")");
    }
    if (cfg.network_threads == 0) {
      cfg.network_threads = std::clamp<std::uint32_t>(std::thread::hardware_concurrency(), 1,
                                                      kMaxNetworkThreads);
    }
    if (auto f = r.single("HEALTH_BIND")) {
      const std::string ip(trim(f->value));
      // Accept what a listening socket accepts: an IP literal.
      if (!Multiaddr::parse("/ip4/" + ip).ok() && !Multiaddr::parse("/ip6/" + ip).ok()) {
        bad(*f, "not an IPv4 or IPv6 address");
      }
      cfg.health_bind = ip;
    }
    if (auto f = r.single("PEER_ID_SEED")) {
      if (f->value.empty()) bad(*f, "cannot be empty");
      cfg.peer_id_seed = f->value;
    }
    if (auto f = r.single("DATA_DIR")) {
      if (trim(f->value).empty()) bad(*f, "cannot be empty");
      cfg.data_dir = std::string(trim(f->value));
    }
    // DATABASE_URL. Never echo the value: it may hold a password.
    if (auto f = r.single("DATABASE_URL")) {
      const std::string v(trim(f->value));
      if (!v.empty() && !v.starts_with("postgres://") && !v.starts_with("postgresql://")) {
        throw BadValue{f->origin + ": expected a postgres:// or postgresql:// URL"};
      }
      cfg.database_url = v;
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
        if (!ma->tcp_endpoint() && !quic::is_quic(*ma))  // or .../udp/<port>/quic-v1
          bad(item, "can only listen on /ip4|/ip6/<ip>/tcp/<port> or /ip4|/ip6/<ip>/udp/<port>/quic-v1");
        cfg.listen_addrs.push_back(std::move(ma.value()));
      }
    } else {
      // As the Rust node: every IPv4 and IPv6 address. A machine without
      // IPv6 keeps the IPv4 listener (the node warns).
      cfg.listen_addrs.push_back(Multiaddr::ip_tcp("0.0.0.0", cfg.bootstrap_port));
      cfg.listen_addrs.push_back(Multiaddr::ip_tcp("::", cfg.bootstrap_port));
      // QUIC v1 on the same port number, over UDP.
      for (const char* ip : {"0.0.0.0", "::"}) {
        auto quic = Multiaddr::parse(std::string(ip[0] == ':' ? "/ip6/" : "/ip4/") + ip + "/udp/" +
                                     std::to_string(cfg.bootstrap_port) + "/quic-v1");
        if (quic) cfg.listen_addrs.push_back(std::move(quic.value()));
      }
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
    if (auto f = r.single("QUIC_RETRY")) {
      const std::string v = lower(trim(f->value));
      if (v == "auto")
        cfg.quic_retry = QuicRetry::kAuto;
      else if (v == "always")
        cfg.quic_retry = QuicRetry::kAlways;
      else if (v == "never")
        cfg.quic_retry = QuicRetry::kNever;
      else
        bad(*f, "unknown mode (expected auto, always or never)");
    }
    if (auto f = r.single("IDENTIFY_PROTOCOL_VERSION")) {
      if (trim(f->value).empty()) bad(*f, "cannot be empty");
      cfg.identify_protocol_version = f->value;
    }
    cfg.relay_circuit_max_bytes = cfg.relay_max_bytes_per_sec;
    if (auto f = r.single("RELAY_CIRCUIT_MAX_BYTES")) {
      cfg.relay_circuit_max_bytes = parse_uint(*f, 0, max_of(OptionKind::kBytes), "bytes");
    }
  } catch (const BadValue& b) {
    return EarlyExit{2, "mepassa-bootstrap: configuration error: " + b.message + "\n"};
  }

  if (peers_stats->parsed()) cfg.command = Command::kPeersStats;
  if (peers_list->parsed()) {
    cfg.command = Command::kPeersList;
    cfg.peers_list_limit = list_limit;
  }
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

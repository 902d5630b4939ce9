// Configuration: Rust-node variables and defaults, precedence
// (flag > environment > .env > default), every bad-value case with the
// variable named and exit code 2, subcommands, --help and --version.
#include "app/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

namespace mp::app {
namespace {

constexpr const char* kPeer = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

// Runs load_config with argv built from `args` and a .env file holding
// `dotenv` (none when empty).
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mp_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    dotenv_path_ = dir_ / ".env";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_dotenv(const std::string& text) {
    std::ofstream(dotenv_path_, std::ios::binary) << text;
  }

  LoadResult load(std::initializer_list<const char*> args = {}) {
    std::vector<const char*> argv{"mepassa-bootstrap"};
    argv.insert(argv.end(), args.begin(), args.end());
    return load_config(static_cast<int>(argv.size()), argv.data(), env, dotenv_path_);
  }

  Config ok(std::initializer_list<const char*> args = {}) {
    auto r = load(args);
    if (auto* e = std::get_if<EarlyExit>(&r)) {
      ADD_FAILURE() << "unexpected exit " << e->code << ": " << e->text;
      return Config{};
    }
    return std::get<Config>(std::move(r));
  }

  EarlyExit fails(std::initializer_list<const char*> args = {}) {
    auto r = load(args);
    if (std::holds_alternative<Config>(r)) {
      ADD_FAILURE() << "expected a configuration error";
      return EarlyExit{};
    }
    return std::get<EarlyExit>(std::move(r));
  }

  // Expects exit code 2 with one line naming `var`.
  void expect_bad(const std::string& var, std::initializer_list<const char*> args = {}) {
    const auto e = fails(args);
    EXPECT_EQ(e.code, 2) << e.text;
    EXPECT_NE(e.text.find(var), std::string::npos) << "message does not name " << var << ": "
                                                    << e.text;
    ASSERT_FALSE(e.text.empty());
    EXPECT_EQ(e.text.find('\n'), e.text.size() - 1) << "not one line: " << e.text;
  }

  MapEnv env;
  std::filesystem::path dir_;
  std::filesystem::path dotenv_path_;
};

TEST_F(ConfigTest, DefaultsMatchTheRustNode) {
  const Config c = ok();
  EXPECT_EQ(c.command, Command::kRun);
  EXPECT_EQ(c.bootstrap_port, 4001);
  EXPECT_EQ(c.health_port, 8000);
  // Unlike the Rust node, no seed by default: a random key kept in DATA_DIR.
  EXPECT_FALSE(c.peer_id_seed.has_value());
  EXPECT_EQ(c.data_dir, std::filesystem::path("./data"));
  EXPECT_EQ(c.ping_interval, std::chrono::seconds(15));
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_TRUE(c.relay_enabled);
  EXPECT_TRUE(c.http_dashboard);
  EXPECT_EQ(c.relay_max_circuits, 100u);
  EXPECT_EQ(c.relay_max_per_peer, 10u);
  EXPECT_EQ(c.relay_max_per_ip, 32u);
  EXPECT_EQ(c.relay_max_per_subnet, 64u);
  EXPECT_EQ(c.relay_max_bytes_per_sec, 1000000u);
  // The Rust node passed RELAY_MAX_BYTES_PER_SEC as max_circuit_bytes.
  EXPECT_EQ(c.relay_circuit_max_bytes, 1000000u);
  EXPECT_EQ(c.relay_reservation_ttl, std::chrono::seconds(3600));
  EXPECT_EQ(c.relay_circuit_duration, std::chrono::seconds(120));
  EXPECT_EQ(c.identify_protocol_version, "/mepassa/1.0.0");
  EXPECT_EQ(c.idle_timeout, std::chrono::seconds(60));
  ASSERT_EQ(c.listen_addrs.size(), 4u);
  EXPECT_EQ(c.listen_addrs[0].to_string(), "/ip4/0.0.0.0/tcp/4001");
  EXPECT_EQ(c.listen_addrs[1].to_string(), "/ip6/::/tcp/4001");
  // QUIC v1 on the same port, over UDP.
  EXPECT_EQ(c.listen_addrs[2].to_string(), "/ip4/0.0.0.0/udp/4001/quic-v1");
  EXPECT_EQ(c.listen_addrs[3].to_string(), "/ip6/::/udp/4001/quic-v1");
  EXPECT_TRUE(c.listen_addrs_defaulted);
  EXPECT_TRUE(c.bootstrap_peers.empty());
  EXPECT_FALSE(c.allow_private_addrs);
  EXPECT_EQ(c.kad_protocols, std::vector<std::string>{"/ipfs/kad/1.0.0"});
  EXPECT_EQ(c.kad_insert, KadInsert::kAll);
  EXPECT_EQ(c.peer_max_age, std::chrono::seconds(604800));
  EXPECT_EQ(c.health_bind, "0.0.0.0");
  EXPECT_EQ(c.log_format, LogFormat::kText);
  EXPECT_TRUE(c.warnings.empty());
}

TEST_F(ConfigTest, PrecedenceFlagOverEnvOverDotenvOverDefault) {
  // Default only.
  EXPECT_EQ(ok().health_port, 8000);
  // .env over default.
  write_dotenv("HEALTH_PORT=8001\n");
  EXPECT_EQ(ok().health_port, 8001);
  // environment over .env.
  env.set("HEALTH_PORT", "8002");
  EXPECT_EQ(ok().health_port, 8002);
  // flag over environment.
  EXPECT_EQ(ok({"--health-port", "8003"}).health_port, 8003);
  EXPECT_EQ(ok({"--health-port=8004"}).health_port, 8004);
}

TEST_F(ConfigTest, PrecedenceAppliesPerVariable) {
  write_dotenv("BOOTSTRAP_PORT=5001\nPEER_ID_SEED=from-dotenv\nDATA_DIR=/dotenv\n");
  env.set("PEER_ID_SEED", "from-env");
  const Config c = ok({"--data-dir", "/flag"});
  EXPECT_EQ(c.bootstrap_port, 5001);
  EXPECT_EQ(c.peer_id_seed, "from-env");
  EXPECT_EQ(c.data_dir, std::filesystem::path("/flag"));
  EXPECT_EQ(c.listen_addrs.at(0).to_string(), "/ip4/0.0.0.0/tcp/5001");
}

TEST_F(ConfigTest, RustLogAndLogLevel) {
  env.set("RUST_LOG", "debug");
  EXPECT_EQ(ok().log_level, LogLevel::kDebug);
  env = MapEnv();
  env.set("LOG_LEVEL", "warn");
  EXPECT_EQ(ok().log_level, LogLevel::kWarn);
  env.set("RUST_LOG", "error");  // RUST_LOG wins over LOG_LEVEL
  EXPECT_EQ(ok().log_level, LogLevel::kError);
  env = MapEnv();
  env.set("RUST_LOG", "info,libp2p=debug");
  const Config c = ok();
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.log_filter, "info,libp2p=debug");
  EXPECT_EQ(ok({"--log-level", "TRACE"}).log_level, LogLevel::kTrace);
}

TEST_F(ConfigTest, ListsFromEnvAndRepeatableFlags) {
  const std::string peer1 = std::string("/ip4/10.0.0.1/tcp/4001/p2p/") + kPeer;
  const std::string peer2 = std::string("/dns4/boot.example.com/tcp/4001/p2p/") + kPeer;
  env.set("LISTEN_ADDRS", "/ip4/0.0.0.0/tcp/4001, /ip6/::/tcp/4001, /ip4/0.0.0.0/udp/4001/quic-v1");
  env.set("BOOTSTRAP_PEERS", peer1 + "," + peer2);
  env.set("KAD_PROTOCOL", "/ipfs/kad/1.0.0,/mepassa/kad/1.0.0");
  Config c = ok();
  ASSERT_EQ(c.listen_addrs.size(), 3u);
  EXPECT_EQ(c.listen_addrs[1].to_string(), "/ip6/::/tcp/4001");
  EXPECT_EQ(c.listen_addrs[2].to_string(), "/ip4/0.0.0.0/udp/4001/quic-v1");
  ASSERT_EQ(c.bootstrap_peers.size(), 2u);
  EXPECT_EQ(c.bootstrap_peers[1].to_string(), peer2);
  EXPECT_EQ(c.kad_protocols, (std::vector<std::string>{"/ipfs/kad/1.0.0", "/mepassa/kad/1.0.0"}));

  // Flags replace the variable; they repeat and may carry commas too.
  c = ok({"--listen", "/ip4/127.0.0.1/tcp/1", "--listen", "/ip4/127.0.0.1/tcp/2,/ip4/127.0.0.1/tcp/3",
          "--kad-protocol", "/x/kad/1"});
  ASSERT_EQ(c.listen_addrs.size(), 3u);
  EXPECT_EQ(c.listen_addrs[0].to_string(), "/ip4/127.0.0.1/tcp/1");
  EXPECT_EQ(c.listen_addrs[2].to_string(), "/ip4/127.0.0.1/tcp/3");
  EXPECT_EQ(c.kad_protocols, std::vector<std::string>{"/x/kad/1"});
  EXPECT_EQ(c.bootstrap_peers.size(), 2u);  // still from the environment
}

TEST_F(ConfigTest, SwitchesAndEnums) {
  EXPECT_TRUE(ok({"--allow-private-addrs"}).allow_private_addrs);
  env.set("ALLOW_PRIVATE_ADDRS", "TRUE");
  env.set("RELAY_ENABLED", "false");
  env.set("KAD_INSERT", "servers");
  env.set("LOG_FORMAT", "json");
  env.set("HTTP_DASHBOARD", "false");
  Config c = ok();
  EXPECT_TRUE(c.allow_private_addrs);
  EXPECT_FALSE(c.relay_enabled);
  EXPECT_FALSE(c.http_dashboard);
  EXPECT_EQ(c.kad_insert, KadInsert::kServers);
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  c = ok({"--relay-enabled", "yes", "--log-format", "text", "--kad-insert", "all",
          "--http-dashboard", "true"});
  EXPECT_TRUE(c.relay_enabled);
  EXPECT_TRUE(c.http_dashboard);
  EXPECT_EQ(c.log_format, LogFormat::kText);
  EXPECT_EQ(c.kad_insert, KadInsert::kAll);
}

TEST_F(ConfigTest, NumbersAndDurations) {
  env.set("MAX_CONNECTIONS", "500");
  env.set("MAX_CONNECTIONS_PER_IP", "3");
  env.set("HANDSHAKE_TIMEOUT_SECS", "7");
  env.set("PEER_MAX_AGE_SECS", "86400");
  env.set("RELAY_MAX_BYTES_PER_SEC", "131072");
  Config c = ok();
  EXPECT_EQ(c.max_connections, 500u);
  EXPECT_EQ(c.max_connections_per_ip, 3u);
  EXPECT_EQ(c.handshake_timeout, std::chrono::seconds(7));
  EXPECT_EQ(c.peer_max_age, std::chrono::seconds(86400));
  EXPECT_EQ(c.relay_circuit_max_bytes, 131072u);  // follows the Rust variable...
  env.set("RELAY_CIRCUIT_MAX_BYTES", "0");
  EXPECT_EQ(ok().relay_circuit_max_bytes, 0u);  // ...unless set explicitly
  EXPECT_EQ(ok({"--bootstrap-port", "0"}).bootstrap_port, 0);  // 0 = any free port
}

TEST_F(ConfigTest, BadPortNotNumeric) {
  env.set("BOOTSTRAP_PORT", "abc");
  expect_bad("BOOTSTRAP_PORT");
  EXPECT_NE(fails().text.find("not a number"), std::string::npos);
}

TEST_F(ConfigTest, BadPortOutOfRange) {
  env.set("HEALTH_PORT", "70000");
  expect_bad("HEALTH_PORT");
  EXPECT_NE(fails().text.find("out of range"), std::string::npos);
  env.set("HEALTH_PORT", "-1");
  expect_bad("HEALTH_PORT");
  env.set("HEALTH_PORT", "99999999999999999999999");
  expect_bad("HEALTH_PORT");
}

TEST_F(ConfigTest, BadPortFromFlagNamesFlagAndVariable) {
  const auto e = fails({"--bootstrap-port", "4001x"});
  EXPECT_EQ(e.code, 2);
  EXPECT_NE(e.text.find("--bootstrap-port"), std::string::npos) << e.text;
  EXPECT_NE(e.text.find("BOOTSTRAP_PORT"), std::string::npos) << e.text;
}

TEST_F(ConfigTest, BadPortFromDotenvNamesVariable) {
  write_dotenv("HEALTH_PORT=eighty\n");
  expect_bad("HEALTH_PORT");
  EXPECT_NE(fails().text.find(".env"), std::string::npos);
}

TEST_F(ConfigTest, BadBool) {
  env.set("RELAY_ENABLED", "maybe");
  expect_bad("RELAY_ENABLED");
  env = MapEnv();
  env.set("ALLOW_PRIVATE_ADDRS", "2");
  expect_bad("ALLOW_PRIVATE_ADDRS");
}

TEST_F(ConfigTest, BadMultiaddr) {
  env.set("LISTEN_ADDRS", "/ip4/0.0.0.0/tcp/4001,not-a-multiaddr");
  expect_bad("LISTEN_ADDRS");
  EXPECT_NE(fails().text.find("not-a-multiaddr"), std::string::npos);
  env = MapEnv();
  env.set("LISTEN_ADDRS", "/ip4/999.0.0.1/tcp/4001");
  expect_bad("LISTEN_ADDRS");
  env = MapEnv();
  env.set("LISTEN_ADDRS", "/ip4/0.0.0.0/udp/4001");  // UDP only as QUIC v1 (/quic-v1)
  expect_bad("LISTEN_ADDRS");
  env = MapEnv();
  env.set("BOOTSTRAP_PEERS", "/ip4/1.2.3.4/tcp/4001");  // no /p2p/
  expect_bad("BOOTSTRAP_PEERS");
  env = MapEnv();
  env.set("BOOTSTRAP_PEERS", "/ip4/1.2.3.4/tcp/4001/p2p/notapeerid");
  expect_bad("BOOTSTRAP_PEERS");
  env = MapEnv();
  expect_bad("--listen", {"--listen", "/ip4/1.2.3.4/tcp/notaport"});
}

TEST_F(ConfigTest, BadKadInsertAndProtocol) {
  env.set("KAD_INSERT", "some");
  expect_bad("KAD_INSERT");
  env = MapEnv();
  env.set("KAD_PROTOCOL", "ipfs/kad/1.0.0");
  expect_bad("KAD_PROTOCOL");
}

TEST_F(ConfigTest, UnknownLogLevel) {
  env.set("RUST_LOG", "verbose");
  expect_bad("RUST_LOG");
  env = MapEnv();
  env.set("LOG_LEVEL", "loud");
  expect_bad("LOG_LEVEL");
  env = MapEnv();
  env.set("RUST_LOG", "chatty,libp2p=debug");
  expect_bad("RUST_LOG");
}

TEST_F(ConfigTest, BadLogFormat) {
  env.set("LOG_FORMAT", "xml");
  expect_bad("LOG_FORMAT");
}

TEST_F(ConfigTest, BadCountsAndDurations) {
  for (const char* var : {"MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_PEER", "MAX_CONNECTIONS_PER_IP",
                          "MAX_STREAMS_PER_CONNECTION", "IDLE_TIMEOUT_SECS",
                          "HANDSHAKE_TIMEOUT_SECS", "KAD_REFRESH_INTERVAL_SECS",
                          "STORAGE_MAINTENANCE_INTERVAL_SECS", "RELAY_RESERVATION_TTL_SECS",
                          "RELAY_CIRCUIT_DURATION_SECS", "PEER_MAX_AGE_SECS"}) {
    env = MapEnv();
    env.set(var, "0");  // each needs at least 1
    expect_bad(var);
    env.set(var, "ten");
    expect_bad(var);
  }
  for (const char* var : {"RELAY_MAX_CIRCUITS", "RELAY_MAX_PER_PEER", "RELAY_MAX_PER_IP", "RELAY_MAX_PER_SUBNET",
                          "RELAY_MAX_BYTES_PER_SEC", "RELAY_CIRCUIT_MAX_BYTES"}) {
    env = MapEnv();
    env.set(var, "1.5");
    expect_bad(var);
  }
  env = MapEnv();
  env.set("MAX_CONNECTIONS", "4294967296");  // beyond 32 bits
  expect_bad("MAX_CONNECTIONS");
}

TEST_F(ConfigTest, BadStringsAndAddresses) {
  env.set("PEER_ID_SEED", "");
  expect_bad("PEER_ID_SEED");
  env = MapEnv();
  env.set("DATA_DIR", " ");
  expect_bad("DATA_DIR");
  env = MapEnv();
  env.set("HEALTH_BIND", "localhost:80");
  expect_bad("HEALTH_BIND");
  env.set("HEALTH_BIND", "::1");
  EXPECT_EQ(ok().health_bind, "::1");
}

TEST_F(ConfigTest, UnknownFlagExits2) {
  const auto e = fails({"--no-such-flag"});
  EXPECT_EQ(e.code, 2);
  EXPECT_NE(e.text.find("no-such-flag"), std::string::npos) << e.text;
  EXPECT_EQ(e.text.find('\n'), e.text.size() - 1) << "not one line: " << e.text;
  EXPECT_EQ(fails({"--health-port"}).code, 2);  // missing value
}

TEST_F(ConfigTest, HelpListsEveryOptionWithVariableAndDefault) {
  const auto e = fails({"--help"});
  EXPECT_EQ(e.code, 0);
  for (const char* s :
       {"--bootstrap-port", "BOOTSTRAP_PORT", "default 4001", "HEALTH_PORT", "default 8000",
        "PEER_ID_SEED", "DATA_DIR", "RUST_LOG", "LOG_LEVEL", "RELAY_ENABLED", "RELAY_MAX_CIRCUITS",
        "RELAY_MAX_PER_PEER", "RELAY_MAX_PER_IP", "RELAY_MAX_PER_SUBNET", "RELAY_MAX_BYTES_PER_SEC", "--listen",
        "LISTEN_ADDRS",
        "--bootstrap-peer", "BOOTSTRAP_PEERS", "--allow-private-addrs", "ALLOW_PRIVATE_ADDRS",
        "--kad-protocol", "KAD_PROTOCOL", "KAD_INSERT", "PEER_MAX_AGE_SECS", "default 604800",
        "IDENTIFY_PROTOCOL_VERSION", "MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_PEER",
        "MAX_CONNECTIONS_PER_IP", "MAX_STREAMS_PER_CONNECTION", "IDLE_TIMEOUT_SECS",
        "HANDSHAKE_TIMEOUT_SECS", "KAD_REFRESH_INTERVAL_SECS", "STORAGE_MAINTENANCE_INTERVAL_SECS",
        "RELAY_RESERVATION_TTL_SECS", "RELAY_CIRCUIT_DURATION_SECS", "RELAY_CIRCUIT_MAX_BYTES",
        "HEALTH_BIND", "HTTP_DASHBOARD", "--http-dashboard", "--log-format", "LOG_FORMAT", "peers", "probe", "--version"}) {
    EXPECT_NE(e.text.find(s), std::string::npos) << "help lacks " << s;
  }
}

// options.hpp is the one source: every row is in --help with its variable,
// flag and default, and the Config defaults are the table's numbers.
TEST_F(ConfigTest, HelpAndDefaultsComeFromTheOptionsTable) {
  const auto e = fails({"--help"});
  ASSERT_EQ(e.code, 0);
  // CLI11 wraps long descriptions: compare with runs of spaces collapsed.
  std::string help;
  for (char ch : e.text) {
    if (ch == '\n') ch = ' ';
    if (ch == ' ' && !help.empty() && help.back() == ' ') continue;
    help += ch;
  }
  for (const auto& o : kOptions) {
    std::string def(o.shown);
    if (def.empty()) {
      if (o.kind == OptionKind::kText || o.kind == OptionKind::kList) def = std::string(o.text);
      else if (o.kind == OptionKind::kBool || o.kind == OptionKind::kSwitch) def = o.value ? "true" : "false";
      else def = std::to_string(o.value);
    }
    EXPECT_NE(help.find(std::string(o.flag)), std::string::npos) << o.flag;
    EXPECT_NE(help.find("env " + std::string(o.var)), std::string::npos) << o.var;
    EXPECT_NE(help.find("default " + def + "]"), std::string::npos) << o.var << " default " << def;
  }
  const Config c = ok();
  EXPECT_EQ(c.max_connections_per_peer, option("MAX_CONNECTIONS_PER_PEER").value);
  EXPECT_EQ(c.max_connections_per_peer, 8u);  // as packaging/mepassa-bootstrap.env documents it
  EXPECT_EQ(c.kad_max_providers, option("KAD_MAX_PROVIDERS").value);
  EXPECT_EQ(c.idle_timeout.count(), static_cast<std::int64_t>(option("IDLE_TIMEOUT_SECS").value));
  EXPECT_EQ(c.health_bind, option("HEALTH_BIND").text);
  // Ranges: the minimum is accepted, one below it refused.
  EXPECT_EQ(ok({"--max-memory-mb", "16"}).max_memory_mb, 16u);
  expect_bad("MAX_MEMORY_MB", {"--max-memory-mb", "15"});
}

TEST_F(ConfigTest, KadStoreQuotasAndLogSummary) {
  Config d = ok();
  EXPECT_EQ(d.kad_max_records, 1024u);
  EXPECT_EQ(d.kad_max_records_per_peer, 64u);
  EXPECT_EQ(d.kad_max_records_per_ip, 128u);
  EXPECT_EQ(d.kad_max_providers, 65536u);
  EXPECT_EQ(d.kad_max_providers_per_peer, 1024u);
  EXPECT_EQ(d.kad_max_providers_per_ip, 2048u);
  EXPECT_EQ(d.log_summary_interval, std::chrono::seconds(60));
  env.set("KAD_MAX_RECORDS", "10");
  env.set("KAD_MAX_RECORDS_PER_IP", "5000");
  env.set("KAD_MAX_PROVIDERS_PER_PEER", "3");
  env.set("LOG_SUMMARY_INTERVAL_SECS", "2");
  Config c = ok({"--kad-max-providers", "7", "--kad-max-records-per-peer", "2",
                 "--kad-max-providers-per-ip", "9"});
  EXPECT_EQ(c.kad_max_records, 10u);
  EXPECT_EQ(c.kad_max_records_per_ip, 5000u);
  EXPECT_EQ(c.kad_max_records_per_peer, 2u);
  EXPECT_EQ(c.kad_max_providers, 7u);
  EXPECT_EQ(c.kad_max_providers_per_peer, 3u);
  EXPECT_EQ(c.kad_max_providers_per_ip, 9u);
  EXPECT_EQ(c.log_summary_interval, std::chrono::seconds(2));
  for (const char* var : {"KAD_MAX_RECORDS", "KAD_MAX_RECORDS_PER_PEER", "KAD_MAX_RECORDS_PER_IP",
                          "KAD_MAX_PROVIDERS", "KAD_MAX_PROVIDERS_PER_PEER",
                          "KAD_MAX_PROVIDERS_PER_IP", "LOG_SUMMARY_INTERVAL_SECS"}) {
    env = MapEnv();
    env.set(var, "0");
    expect_bad(var);
  }
  const auto help = fails({"--help"});
  for (const char* s : {"KAD_MAX_RECORDS_PER_PEER", "--kad-max-providers-per-ip",
                        "LOG_SUMMARY_INTERVAL_SECS", "default 65536"}) {
    EXPECT_NE(help.text.find(s), std::string::npos) << "help lacks " << s;
  }
}

TEST_F(ConfigTest, Version) {
  const auto e = fails({"--version"});
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.text, std::string("mepassa-bootstrap ") + MP_VERSION + "\n");
}

TEST_F(ConfigTest, Subcommands) {
  Config c;
  EXPECT_EQ(ok({"peers", "stats"}).command, Command::kPeersStats);
  EXPECT_EQ(ok({"peers", "list"}).command, Command::kPeersList);
  EXPECT_FALSE(ok({"peers", "list"}).peers_list_limit);
  // As the README shows it.
  c = ok({"peers", "list", "--limit", "5"});
  EXPECT_EQ(c.command, Command::kPeersList);
  EXPECT_EQ(c.peers_list_limit, 5u);
  EXPECT_EQ(fails({"peers", "list", "--limit", "many"}).code, 2);
  EXPECT_EQ(ok({"peers", "gc"}).command, Command::kPeersGc);
  // Node options may come before or after the subcommand.
  c = ok({"--data-dir", "/x", "peers", "gc", "--peer-max-age-secs", "60"});
  EXPECT_EQ(c.command, Command::kPeersGc);
  EXPECT_EQ(c.data_dir, std::filesystem::path("/x"));
  EXPECT_EQ(c.peer_max_age, std::chrono::seconds(60));

  const std::string target = std::string("/ip4/127.0.0.1/tcp/4001/p2p/") + kPeer;
  c = ok({"probe", target.c_str()});
  EXPECT_EQ(c.command, Command::kProbe);
  ASSERT_TRUE(c.probe_target.has_value());
  EXPECT_EQ(c.probe_target->to_string(), target);

  EXPECT_EQ(fails({"peers"}).code, 2);          // needs stats|list|gc
  EXPECT_EQ(fails({"peers", "bogus"}).code, 2);
  EXPECT_EQ(fails({"probe"}).code, 2);          // needs a multiaddr
  const auto e = fails({"probe", "nonsense"});
  EXPECT_EQ(e.code, 2);
  EXPECT_NE(e.text.find("nonsense"), std::string::npos);
}

TEST_F(ConfigTest, DotenvWarningsAreKeptNotFatal) {
  write_dotenv("this line is junk\nHEALTH_PORT=8100\n");
  const Config c = ok();
  EXPECT_EQ(c.health_port, 8100);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find(".env: line 1:"), std::string::npos) << c.warnings[0];
}

// DATABASE_URL selects PostgreSQL; a bad value is refused without
// echoing it (it may hold a password).
TEST_F(ConfigTest, DatabaseUrlIsAPostgresUrlAndNeverEchoed) {
  EXPECT_EQ(ok().database_url, "");
  env.set("DATABASE_URL", "postgres://mp:hunter2@db:5432/mp");
  EXPECT_EQ(ok().database_url, "postgres://mp:hunter2@db:5432/mp");
  EXPECT_EQ(ok({"--database-url", "postgresql:///mp?host=/run/pg"}).database_url,
            "postgresql:///mp?host=/run/pg");
  env.set("DATABASE_URL", "mysql://mp:hunter2@db/mp");
  expect_bad("DATABASE_URL");
  EXPECT_EQ(fails().text.find("hunter2"), std::string::npos);
}

// NETWORK_THREADS (issue 13): the number of cores by default, 1-64.
TEST_F(ConfigTest, NetworkThreadsDefaultsToTheCoresWithinOneToSixtyFour) {
  const std::uint32_t cores = std::clamp<std::uint32_t>(std::thread::hardware_concurrency(), 1, 64);
  EXPECT_EQ(ok().network_threads, cores);
  EXPECT_EQ(ok({"--network-threads", "1"}).network_threads, 1u);
  EXPECT_EQ(ok({"--network-threads", "64"}).network_threads, 64u);
  env.set("NETWORK_THREADS", "3");
  EXPECT_EQ(ok().network_threads, 3u);
  expect_bad("NETWORK_THREADS", {"--network-threads", "0"});
  expect_bad("NETWORK_THREADS", {"--network-threads", "65"});
  env.set("NETWORK_THREADS", "two");
  expect_bad("NETWORK_THREADS");
}

TEST_F(ConfigTest, ReverifyIntervalDefaultsToTenMinutesAndZeroTurnsItOff) {
  EXPECT_EQ(ok().reverify_interval, std::chrono::seconds(600));
  EXPECT_EQ(ok({"--reverify-interval-secs", "0"}).reverify_interval, std::chrono::seconds(0));
  env.set("REVERIFY_INTERVAL_SECS", "30");
  EXPECT_EQ(ok().reverify_interval, std::chrono::seconds(30));
  env.set("REVERIFY_INTERVAL_SECS", "-1");
  expect_bad("REVERIFY_INTERVAL_SECS");
}

// QUIC_RETRY (issue 14).
TEST_F(ConfigTest, QuicRetryModes) {
  EXPECT_EQ(ok().quic_retry, QuicRetry::kAuto);
  env.set("QUIC_RETRY", "Always");
  EXPECT_EQ(ok().quic_retry, QuicRetry::kAlways);
  EXPECT_EQ(ok({"--quic-retry", "never"}).quic_retry, QuicRetry::kNever);
  env.set("QUIC_RETRY", "sometimes");
  const auto e = fails();
  EXPECT_EQ(e.code, 2);
  EXPECT_NE(e.text.find("QUIC_RETRY"), std::string::npos);
}

}  // namespace
}  // namespace mp::app

// mepassa-bootstrap: the MePassa libp2p bootstrap node.
//   mepassa-bootstrap [options]            run the node
//   mepassa-bootstrap peers stats|list|gc  inspect the peer store of DATA_DIR
//   mepassa-bootstrap probe <multiaddr>    check any libp2p node
#include <csignal>
#include <iostream>

#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/node.hpp"
#include "app/probe.hpp"
#include "fleet/membership.hpp"
#include "storage/peers_command.hpp"

int main(int argc, char** argv) {
  using namespace mp::app;
  auto loaded = load_config(argc, argv, ProcessEnv{});
  if (auto* early = std::get_if<EarlyExit>(&loaded)) return print_early_exit(*early);
  const Config& config = std::get<Config>(loaded);

  switch (config.command) {
    case Command::kPeersStats:
    case Command::kPeersList:
    case Command::kPeersGc: {
      LogOptions quiet;
      quiet.level = LogLevel::kWarn;
      quiet.async = false;
      (void)setup_logging(quiet);  // stdout: cannot fail
      const char* sub = config.command == Command::kPeersStats  ? "stats"
                        : config.command == Command::kPeersList ? "list"
                                                                : "gc";
      std::vector<std::string> args{sub};
      if (config.command == Command::kPeersList && config.peers_list_limit) {
        args.push_back("--limit");
        args.push_back(std::to_string(*config.peers_list_limit));
      }
      if (config.command == Command::kPeersGc) {
        args.push_back("--max-age-secs");
        args.push_back(std::to_string(config.peer_max_age.count()));
      }
      // `peers stats` counts a fleet member alive by the node's rule
      // (fleet::is_alive) at this process's FLEET_HEARTBEAT_SECS.
      return mp::storage::run_peers_command(
          args, config.data_dir.string(), std::cout, std::cerr,
          config.database_url,  // DATABASE_URL
          mp::fleet::kMissedHeartbeatsGone * std::chrono::milliseconds(config.fleet_heartbeat));
    }
    case Command::kProbe: {
      LogOptions opts;
      opts.level = config.log_level == LogLevel::kInfo ? LogLevel::kWarn : config.log_level;
      opts.async = false;
      (void)setup_logging(opts);  // stdout: cannot fail
      return run_probe(config, std::cout);
    }
    case Command::kRun:
      break;
  }
  // Until the node installs its handlers, a signal an operator commonly
  // sends must not kill it half-started (SIGHUP's default action is to
  // terminate). SIGPIPE stays ignored for good: a closed stdout or socket is
  // an error to handle, not a reason to die.
  for (int sig : {SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE}) std::signal(sig, SIG_IGN);
  if (auto st = setup_logging(config); !st) {
    std::cerr << "mepassa-bootstrap: " << st.message() << "\n";
    return 2;
  }
  const int rc = run_node(config);
  shutdown_logging();
  return rc;
}

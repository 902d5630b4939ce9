// mepassa-bootstrap: the MePassa libp2p bootstrap node.
//   mepassa-bootstrap [options]            run the node
//   mepassa-bootstrap peers stats|list|gc  inspect the peer store of DATA_DIR
//   mepassa-bootstrap probe <multiaddr>    check any libp2p node
#include <iostream>

#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/node.hpp"
#include "app/probe.hpp"
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
      setup_logging(quiet);
      const char* sub = config.command == Command::kPeersStats  ? "stats"
                        : config.command == Command::kPeersList ? "list"
                                                                : "gc";
      std::vector<std::string> args{sub};
      if (config.command == Command::kPeersGc) {
        args.push_back("--max-age-secs");
        args.push_back(std::to_string(config.peer_max_age.count()));
      }
      return mp::storage::run_peers_command(args, config.data_dir.string(), std::cout, std::cerr);
    }
    case Command::kProbe: {
      LogOptions opts;
      opts.level = config.log_level == LogLevel::kInfo ? LogLevel::kWarn : config.log_level;
      opts.async = false;
      setup_logging(opts);
      return run_probe(config, std::cout);
    }
    case Command::kRun:
      break;
  }
  setup_logging(config);
  const int rc = run_node(config);
  shutdown_logging();
  return rc;
}

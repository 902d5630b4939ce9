// The node as a process: the signals an operator sends (README "Signals"),
// the stats line they log, and run_node, which builds the Node from the
// DATA_DIR, its lock, the identity and the peer store.
#include <spdlog/spdlog.h>

#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "app/identity.hpp"
#include "app/logging.hpp"
#include "app/node.hpp"
#include "app/node_storage.hpp"
#include "storage/data_dir_lock.hpp"

namespace mp::app {
namespace {

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    default:
      return "SIGTERM";
  }
}

}  // namespace

// Signals an operator commonly sends (README "Signals"): SIGINT, SIGTERM
// and SIGQUIT stop the node with the same flush; SIGHUP reloads the log
// level and reopens LOG_FILE; SIGUSR1 and SIGUSR2 log one stats line.
// None of them ends the node without flushing the peer store.
asio::awaitable<void> Node::wait_for_signals() {
  asio::signal_set signals(io_, SIGINT, SIGTERM, SIGQUIT);
  signals.add(SIGHUP);
  signals.add(SIGUSR1);
  signals.add(SIGUSR2);
  std::error_code ec;
  int sig = 0;
  for (;;) {
    sig = co_await signals.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (sig == SIGHUP) {
      spdlog::info("Received SIGHUP: {}", reload_logging(config_, ProcessEnv{}));
    } else if (sig == SIGUSR1 || sig == SIGUSR2) {
      spdlog::info("Received {}: {}", sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2", stats_line());
    } else {
      break;
    }
  }
  spdlog::info("Received {}, shutting down (a second signal exits at once)", signal_name(sig));
  stop();
  // A second stop signal exits at once; SIGHUP/SIGUSR* are ignored now.
  signals.remove(SIGHUP);
  signals.remove(SIGUSR1);
  signals.remove(SIGUSR2);
  for (int s : {SIGHUP, SIGUSR1, SIGUSR2}) std::signal(s, SIG_IGN);
  signals.async_wait([](std::error_code e, int) {
    if (!e) std::_Exit(130);
  });
  // Give GoAway frames a moment to leave, then stop the loop.
  asio::steady_timer t(io_, std::chrono::milliseconds(300));
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  io_.stop();
}

// One line for SIGUSR1/SIGUSR2: what an operator checks first.
std::string Node::stats_line() {
  std::string line = fmt::format("stats: {} connections, {} connected peers, routing table {}",
                                 host_.connections().size(), host_.connected_peer_count(),
                                 kad_.routing_table().size());
  if (store_) {
    const auto c = store_->counters();
    const auto st = store_->last_stats();
    line += fmt::format(", store queue {}/{}, {} stored peers, {} write failures", c.queue_depth,
                        c.queue_capacity, st.total_peers, c.write_failures);
  }
  return line;
}

int run_node(const Config& config) {
  // Order matters (two first starts on one empty DATA_DIR must not each
  // write a key): the directory, its lock, then the identity, then the store.
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create DATA_DIR {}: {}", config.data_dir.string(), ec.message());
    return 1;
  }
  auto lock = storage::DataDirLock::acquire(config.data_dir);
  if (!lock) {
    spdlog::error("{}", lock.message());
    return 1;
  }
  auto identity = node_identity(config);
  if (auto* err = std::get_if<IdentityError>(&identity)) {
    spdlog::error("{}", err->message);
    return err->exit_code;
  }
  auto& key = std::get<Ed25519KeyPair>(identity);
  auto store = open_peer_store(config, PeerId::from_public_key(key.public_key()));
  if (!store) {
    spdlog::error("{}", store.message());
    return 1;
  }
  Node node(config, std::move(key), std::move(*store));
  return node.run();
}

}  // namespace mp::app

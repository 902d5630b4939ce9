#include "app/warm_start.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace mp::app {

WarmStart::WarmStart(host::Host& host, kad::Kademlia& kad, storage::PeerStore& store,
                     WarmStartConfig config)
    : config_(config), round_(host, kad, store, config.concurrency, "Warm start") {}

void WarmStart::start(asio::any_io_executor executor, std::vector<storage::StoredPeer> peers) {
  const std::size_t n = peers.size();
  round_.set_peers(std::move(peers));
  if (n == 0) {
    round_.run(executor, nullptr, nullptr);  // finished at once, nothing to log
    return;
  }
  spdlog::info(
      "Warm start: checking {} stored peers in the background in {} ms, {} dials at a time", n,
      config_.delay.count(), std::max<std::size_t>(config_.concurrency, 1));
  asio::co_spawn(executor, run(executor), asio::detached);
}

asio::awaitable<void> WarmStart::run(asio::any_io_executor executor) {
  asio::steady_timer timer(executor, config_.delay);
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  round_.run(
      executor,
      [this](const storage::StoredPeer& p, VerificationOutcome o) {
        if (on_peer_) on_peer_(p, o);
      },
      [this](const VerificationReport& r) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - round_.started_at())
                            .count();
        spdlog::info(
            "Warm start finished in {} ms: {} stored peers, {} reached, {} already connected, {} "
            "unreachable ({} kept in the routing table, {} removed), {} skipped, {} left to other "
            "fleet members",
            ms, r.peers, r.reached, r.already_connected, r.unreachable, r.unreachable - r.removed,
            r.removed, r.skipped, r.other_member);
      });
}

}  // namespace mp::app

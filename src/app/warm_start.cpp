#include "app/warm_start.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <string>

#include "host/host.hpp"
#include "kad/kademlia.hpp"

namespace mp::app {

bool leaves_routing_table_when_unreachable(double stored_reputation) {
  // Reputations move in steps of 0.5 and 0.1; the epsilon absorbs the
  // binary rounding of sums of 0.1.
  constexpr double kEpsilon = 1e-9;
  return stored_reputation - storage::kReputationDialFailurePenalty <=
         storage::kReputationFloor + kEpsilon;
}

bool WarmStartTally::record(WarmStartOutcome outcome, double stored_reputation) {
  switch (outcome) {
    case WarmStartOutcome::kReached:
      ++report_.reached;
      return false;
    case WarmStartOutcome::kAlreadyConnected:
      ++report_.already_connected;
      return false;
    case WarmStartOutcome::kSkipped:
      ++report_.skipped;
      return false;
    case WarmStartOutcome::kOtherMember:
      ++report_.other_member;
      return false;
    case WarmStartOutcome::kUnreachable:
      ++report_.unreachable;
      if (!leaves_routing_table_when_unreachable(stored_reputation)) return false;
      ++report_.removed;
      return true;
  }
  return false;
}

WarmStart::WarmStart(host::Host& host, kad::Kademlia& kad, storage::PeerStore& store,
                     WarmStartConfig config)
    : host_(host), kad_(kad), store_(store), config_(config) {
  if (config_.concurrency == 0) config_.concurrency = 1;
}

void WarmStart::start(asio::any_io_executor executor, std::vector<storage::StoredPeer> peers) {
  peers_ = std::move(peers);
  tally_ = WarmStartTally(peers_.size());
  if (peers_.empty()) {
    tally_.finish();
    return;
  }
  spdlog::info(
      "Warm start: checking {} stored peers in the background in {} ms, {} dials at a time",
      peers_.size(), config_.delay.count(), config_.concurrency);
  asio::co_spawn(executor, run(executor), asio::detached);
}

asio::awaitable<void> WarmStart::run(asio::any_io_executor executor) {
  asio::steady_timer timer(executor, config_.delay);
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  started_at_ = std::chrono::steady_clock::now();
  workers_running_ = std::min(config_.concurrency, peers_.size());
  for (std::size_t i = 0, n = workers_running_; i < n; ++i) {
    asio::co_spawn(executor, worker(), asio::detached);
  }
}

asio::awaitable<void> WarmStart::worker() {
  // Workers share one cursor; the io_context is single-threaded, so taking
  // the next index needs no lock.
  while (next_ < peers_.size()) {
    const storage::StoredPeer& peer = peers_[next_++];
    WarmStartOutcome outcome = WarmStartOutcome::kSkipped;
    try {
      outcome = co_await dial_stored_peer(peer);
    } catch (const std::exception& e) {
      // dial_stored_peer catches dial errors; anything else is a bug, but one
      // peer must not end the warm start.
      spdlog::warn("Warm start: unexpected error with {}: {}", peer.id.to_base58(), e.what());
    }
    if (tally_.record(outcome, peer.reputation)) {
      kad_.on_peer_unreachable(peer.id);
      spdlog::info(
          "Warm start: {} unreachable again (reputation {:.1f} -> floor), removed from the "
          "routing table",
          peer.id.to_base58(), peer.reputation);
    }
  }
  on_worker_done();
}

asio::awaitable<WarmStartOutcome> WarmStart::dial_stored_peer(const storage::StoredPeer& peer) {
  if (stopping_ || !kad_.routing_table().contains(peer.id)) co_return WarmStartOutcome::kSkipped;
  if (host_.connection_to(peer.id)) co_return WarmStartOutcome::kAlreadyConnected;
  if (owns_ && !owns_(peer.id)) co_return WarmStartOutcome::kOtherMember;
  std::vector<const Multiaddr*> failed;
  std::string last_error = "no stored address";
  for (const Multiaddr& addr : peer.addrs) {
    if (stopping_) co_return WarmStartOutcome::kSkipped;
    try {
      // With /p2p/ the Noise handshake must prove the stored peer id: an
      // address now used by someone else counts as a failure.
      Multiaddr target = addr.with_peer_id(peer.id);
      co_await host_.dial(std::move(target));
      // Success: ConnectionEstablished(outbound) records it. The addresses
      // that failed before this one sink in the order.
      for (const Multiaddr* f : failed) store_.record_dial_failure(peer.id, *f);
      spdlog::debug("Warm start: reached {} at {}", peer.id.to_base58(), addr.to_string());
      co_return WarmStartOutcome::kReached;
    } catch (const std::exception& e) {
      last_error = e.what();
      failed.push_back(&addr);
    }
    // The peer may have connected to us while we were failing to reach it.
    if (host_.connection_to(peer.id)) co_return WarmStartOutcome::kAlreadyConnected;
  }
  store_.record_dial_failure(peer.id);
  spdlog::debug("Warm start: {} unreachable ({} addresses): {}", peer.id.to_base58(),
                peer.addrs.size(), last_error);
  co_return WarmStartOutcome::kUnreachable;
}

void WarmStart::on_worker_done() {
  if (--workers_running_ > 0) return;
  tally_.finish();
  const WarmStartReport& r = tally_.report();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started_at_)
                      .count();
  spdlog::info(
      "Warm start finished in {} ms: {} stored peers, {} reached, {} already connected, {} "
      "unreachable ({} kept in the routing table, {} removed), {} skipped, {} left to other "
      "fleet members",
      ms, r.peers, r.reached, r.already_connected, r.unreachable, r.unreachable - r.removed,
      r.removed, r.skipped, r.other_member);
}

}  // namespace mp::app

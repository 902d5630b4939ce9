#include "app/verification_round.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <exception>

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

bool VerificationTally::record(VerificationOutcome outcome, double stored_reputation) {
  switch (outcome) {
    case VerificationOutcome::kReached:
      ++report_.reached;
      return false;
    case VerificationOutcome::kAlreadyConnected:
      ++report_.already_connected;
      return false;
    case VerificationOutcome::kSkipped:
      ++report_.skipped;
      return false;
    case VerificationOutcome::kOtherMember:
      ++report_.other_member;
      return false;
    case VerificationOutcome::kUnreachable:
      ++report_.unreachable;
      if (!leaves_routing_table_when_unreachable(stored_reputation)) return false;
      ++report_.removed;
      return true;
  }
  return false;
}

VerificationRound::VerificationRound(host::Host& host, kad::Kademlia& kad,
                                     storage::PeerStore& store, std::size_t concurrency,
                                     std::string label)
    : host_(host),
      kad_(kad),
      store_(store),
      concurrency_(std::max<std::size_t>(concurrency, 1)),
      label_(std::move(label)) {}

void VerificationRound::set_peers(std::vector<storage::StoredPeer> peers) {
  if (running_) return;
  peers_ = std::move(peers);
}

void VerificationRound::run(
    asio::any_io_executor executor,
    std::function<void(const storage::StoredPeer&, VerificationOutcome)> on_peer,
    std::function<void(const VerificationReport&)> on_done) {
  if (running_) return;
  on_peer_ = std::move(on_peer);
  on_done_ = std::move(on_done);
  tally_ = VerificationTally(peers_.size());
  next_ = 0;
  started_at_ = std::chrono::steady_clock::now();
  if (peers_.empty()) {
    tally_.finish();
    if (on_done_) on_done_(tally_.report());
    return;
  }
  running_ = true;
  workers_running_ = std::min(concurrency_, peers_.size());
  for (std::size_t i = 0, n = workers_running_; i < n; ++i) {
    asio::co_spawn(executor, worker(), asio::detached);
  }
}

asio::awaitable<void> VerificationRound::worker() {
  // Workers share one cursor; the io_context is single-threaded, so taking
  // the next index needs no lock.
  while (next_ < peers_.size()) {
    const storage::StoredPeer& peer = peers_[next_++];
    VerificationOutcome outcome = VerificationOutcome::kSkipped;
    try {
      outcome = co_await dial(peer);
    } catch (const std::exception& e) {
      // dial() catches dial errors; anything else is a bug, but one peer
      // must not end the round.
      spdlog::warn("{}: unexpected error with {}: {}", label_, peer.id.to_base58(), e.what());
    }
    if (tally_.record(outcome, peer.reputation)) {
      kad_.on_peer_unreachable(peer.id);
      spdlog::info(
          "{}: {} unreachable again (reputation {:.1f} -> floor), removed from the routing table",
          label_, peer.id.to_base58(), peer.reputation);
    }
    if (on_peer_) on_peer_(peer, outcome);
  }
  on_worker_done();
}

asio::awaitable<VerificationOutcome> VerificationRound::dial(const storage::StoredPeer& peer) {
  if (stopping_ || !kad_.routing_table().contains(peer.id)) co_return VerificationOutcome::kSkipped;
  if (host_.connection_to(peer.id)) co_return VerificationOutcome::kAlreadyConnected;
  if (owns_ && !owns_(peer.id)) co_return VerificationOutcome::kOtherMember;
  std::vector<const Multiaddr*> failed;
  std::string last_error = "no stored address";
  for (const Multiaddr& addr : peer.addrs) {
    if (stopping_) co_return VerificationOutcome::kSkipped;
    try {
      // With /p2p/ the Noise handshake must prove the stored peer id: an
      // address now used by someone else counts as a failure.
      Multiaddr target = addr.with_peer_id(peer.id);
      co_await host_.dial(std::move(target));
      // Success: ConnectionEstablished(outbound) records it. The addresses
      // that failed before this one sink in the order.
      for (const Multiaddr* f : failed) store_.record_dial_failure(peer.id, *f);
      spdlog::debug("{}: reached {} at {}", label_, peer.id.to_base58(), addr.to_string());
      co_return VerificationOutcome::kReached;
    } catch (const std::exception& e) {
      last_error = e.what();
      failed.push_back(&addr);
    }
    // The peer may have connected to us while we were failing to reach it.
    if (host_.connection_to(peer.id)) co_return VerificationOutcome::kAlreadyConnected;
  }
  store_.record_dial_failure(peer.id);
  spdlog::debug("{}: {} unreachable ({} addresses): {}", label_, peer.id.to_base58(),
                peer.addrs.size(), last_error);
  co_return VerificationOutcome::kUnreachable;
}

void VerificationRound::on_worker_done() {
  if (--workers_running_ > 0) return;
  tally_.finish();
  running_ = false;
  if (on_done_) on_done_(tally_.report());
}

}  // namespace mp::app

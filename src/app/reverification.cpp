#include "app/reverification.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "kad/kademlia.hpp"
#include "kad/routing_table.hpp"

namespace mp::app {

void ReverificationBook::seen(const PeerId& peer, kad::TimePoint now) {
  entries_[peer].seen = now;
}

void ReverificationBook::set_reputation(const PeerId& peer, double reputation) {
  entries_[peer].reputation =
      std::clamp(reputation, storage::kReputationFloor, storage::kReputationMax);
}

void ReverificationBook::record(const PeerId& peer, VerificationOutcome outcome) {
  if (outcome == VerificationOutcome::kUnreachable) {
    double& r = entries_[peer].reputation;
    r = std::max(storage::kReputationFloor, r - storage::kReputationDialFailurePenalty);
  } else if (outcome == VerificationOutcome::kReached) {
    double& r = entries_[peer].reputation;
    r = std::max(storage::kReputationDefault, r);
  }
}

double ReverificationBook::reputation(const PeerId& peer) const {
  auto it = entries_.find(peer);
  return it == entries_.end() ? storage::kReputationDefault : it->second.reputation;
}

std::optional<kad::TimePoint> ReverificationBook::last_seen(const PeerId& peer) const {
  auto it = entries_.find(peer);
  return it == entries_.end() ? std::nullopt : it->second.seen;
}

void ReverificationBook::prune(const kad::RoutingTable& table) {
  std::erase_if(entries_, [&](const auto& kv) { return !table.contains(kv.first); });
}

std::vector<storage::StoredPeer> ReverificationBook::due(
    const kad::RoutingTable& table, kad::TimePoint now, kad::Duration interval,
    const std::function<bool(const PeerId&)>& connected, std::size_t max_peers) const {
  struct Due {
    const kad::PeerEntry* entry;
    std::optional<kad::TimePoint> seen;
  };
  std::vector<Due> due;
  for (std::size_t b = 0; b < kad::RoutingTable::kBuckets; ++b) {
    for (const kad::PeerEntry& e : table.bucket(b).entries()) {
      if (connected && connected(e.id)) continue;
      auto seen = last_seen(e.id);
      if (seen && now - *seen < interval) continue;
      due.push_back({&e, seen});
    }
  }
  // Never seen first, then seen longest ago; ties by Peer ID so the order is
  // the same whatever the table's layout.
  std::sort(due.begin(), due.end(), [](const Due& a, const Due& b) {
    if (a.seen != b.seen) return !a.seen || (b.seen && *a.seen < *b.seen);
    return a.entry->id.bytes() < b.entry->id.bytes();
  });
  if (due.size() > max_peers) due.resize(max_peers);
  std::vector<storage::StoredPeer> out;
  out.reserve(due.size());
  for (const Due& d : due) {
    storage::StoredPeer p;
    p.id = d.entry->id;
    p.addrs = d.entry->addrs;
    p.reputation = reputation(d.entry->id);
    out.push_back(std::move(p));
  }
  return out;
}

Reverification::Reverification(host::Host& host, kad::Kademlia& kad, storage::PeerStore& store,
                               ReverifyConfig config)
    : host_(host),
      kad_(kad),
      config_(config),
      round_(host, kad, store, config.concurrency, "Re-verification") {}

void Reverification::start(asio::any_io_executor executor) {
  if (config_.interval.count() <= 0) return;
  spdlog::info(
      "Re-verification: every {} s, the routing-table peers not seen within it, {} dials at a time",
      config_.interval.count(), std::max<std::size_t>(config_.concurrency, 1));
  timer_ = std::make_unique<asio::steady_timer>(executor);
  asio::co_spawn(executor, loop(executor), asio::detached);
}

void Reverification::stop() {
  stopping_ = true;
  round_.stop();
  if (timer_) timer_->cancel();
}

asio::awaitable<void> Reverification::loop(asio::any_io_executor executor) {
  asio::steady_timer& t = *timer_;
  while (!stopping_) {
    t.expires_after(config_.interval);
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    book_.prune(kad_.routing_table());
    if (round_.running() || (busy_ && busy_())) {
      counters_.rounds_skipped.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("Re-verification: round due while {} still runs: skipped",
                   round_.running() ? "the previous round" : "the warm start");
      continue;
    }
    start_round(executor);
  }
}

void Reverification::start_round(asio::any_io_executor executor) {
  auto peers = book_.due(
      kad_.routing_table(), kad::Clock::now(), config_.interval,
      [this](const PeerId& p) { return host_.connection_to(p) != nullptr; }, config_.max_peers);
  counters_.last_round_peers.store(peers.size(), std::memory_order_relaxed);
  counters_.running.store(1, std::memory_order_relaxed);
  round_.set_peers(std::move(peers));
  round_.run(
      executor,
      [this](const storage::StoredPeer& p, VerificationOutcome o) { book_.record(p.id, o); },
      [this](const VerificationReport& r) { on_round_done(r); });
}

void Reverification::on_round_done(const VerificationReport& r) {
  auto add = [](std::atomic<std::uint64_t>& c, std::size_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  };
  add(counters_.reached, r.reached);
  add(counters_.already_connected, r.already_connected);
  add(counters_.unreachable, r.unreachable);
  add(counters_.removed, r.removed);
  add(counters_.skipped, r.skipped);
  add(counters_.other_member, r.other_member);
  const auto n = counters_.rounds.fetch_add(1, std::memory_order_relaxed) + 1;
  counters_.running.store(0, std::memory_order_relaxed);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - round_.started_at())
                      .count();
  spdlog::info(
      "Re-verification round {} finished in {} ms: {} peers not seen within {} s, {} reached, {} "
      "already "
      "connected, {} unreachable ({} kept in the routing table, {} removed), {} skipped, {} left "
      "to other "
      "fleet members",
      n, ms, r.peers, config_.interval.count(), r.reached, r.already_connected, r.unreachable,
      r.unreachable - r.removed, r.removed, r.skipped, r.other_member);
}

std::string Reverification::metrics_text() const {
  const auto& c = counters_;
  auto v = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return fmt::format(
      "# HELP mepassa_reverify_rounds_total Periodic re-verification rounds finished.\n"
      "# TYPE mepassa_reverify_rounds_total counter\n"
      "mepassa_reverify_rounds_total {}\n"
      "# HELP mepassa_reverify_rounds_skipped_total Re-verification rounds skipped: due while the "
      "previous round or the warm start still ran.\n"
      "# TYPE mepassa_reverify_rounds_skipped_total counter\n"
      "mepassa_reverify_rounds_skipped_total {}\n"
      "# HELP mepassa_reverify_peers_total Peers of re-verification rounds, by outcome "
      "(other_member: left to the fleet member that owns them).\n"
      "# TYPE mepassa_reverify_peers_total counter\n"
      "mepassa_reverify_peers_total{{outcome=\"reached\"}} {}\n"
      "mepassa_reverify_peers_total{{outcome=\"already_connected\"}} {}\n"
      "mepassa_reverify_peers_total{{outcome=\"unreachable\"}} {}\n"
      "mepassa_reverify_peers_total{{outcome=\"skipped\"}} {}\n"
      "mepassa_reverify_peers_total{{outcome=\"other_member\"}} {}\n"
      "# HELP mepassa_reverify_removed_total Unreachable peers that re-verification took out of "
      "the routing table.\n"
      "# TYPE mepassa_reverify_removed_total counter\n"
      "mepassa_reverify_removed_total {}\n"
      "# HELP mepassa_reverify_last_round_peers Peers due in the last re-verification round.\n"
      "# TYPE mepassa_reverify_last_round_peers gauge\n"
      "mepassa_reverify_last_round_peers {}\n",
      v(c.rounds), v(c.rounds_skipped), v(c.reached), v(c.already_connected), v(c.unreachable),
      v(c.skipped), v(c.other_member), v(c.removed), v(c.last_round_peers));
}

http::ReverifyHealth Reverification::health() const {
  http::ReverifyHealth h;
  const auto& c = counters_;
  h.enabled = config_.interval.count() > 0;
  h.interval_secs = static_cast<std::uint64_t>(config_.interval.count());
  h.rounds = c.rounds.load();
  h.rounds_skipped = c.rounds_skipped.load();
  h.running = c.running.load() != 0;
  h.last_round_peers = c.last_round_peers.load();
  h.reached = c.reached.load();
  h.already_connected = c.already_connected.load();
  h.unreachable = c.unreachable.load();
  h.removed = c.removed.load();
  h.other_member = c.other_member.load();
  return h;
}

}  // namespace mp::app

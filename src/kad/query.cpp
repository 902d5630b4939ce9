#include "kad/query.hpp"

#include <algorithm>

namespace mp::kad {

ClosestPeersQuery::ClosestPeersQuery(Key target, PeerId local, std::span<const PeerId> seeds,
                                     QueryConfig config, TimePoint now)
    : target_(target),
      local_(std::move(local)),
      config_(config),
      query_deadline_(now + config.query_timeout) {
  for (const auto& p : seeds) add_candidate(p);
}

ClosestPeersQuery::Candidate* ClosestPeersQuery::find(const PeerId& peer) {
  const Distance d = Key::from_peer(peer).distance(target_);
  auto it = std::lower_bound(candidates_.begin(), candidates_.end(), d,
                             [](const Candidate& c, const Distance& x) { return c.distance < x; });
  for (; it != candidates_.end() && it->distance == d; ++it) {
    if (it->id == peer) return &*it;
  }
  return nullptr;
}

std::optional<ClosestPeersQuery::PeerState> ClosestPeersQuery::state_of(const PeerId& peer) const {
  const Candidate* c = const_cast<ClosestPeersQuery*>(this)->find(peer);
  if (!c) return std::nullopt;
  return c->state;
}

void ClosestPeersQuery::add_candidate(const PeerId& peer) {
  if (peer == local_ || peer.empty()) return;
  const Distance d = Key::from_peer(peer).distance(target_);
  auto it = std::lower_bound(candidates_.begin(), candidates_.end(), d,
                             [](const Candidate& c, const Distance& x) { return c.distance < x; });
  for (auto j = it; j != candidates_.end() && j->distance == d; ++j) {
    if (j->id == peer) return;  // already known: its state stands
  }
  if (candidates_.size() >= config_.max_candidates) {
    // Full: drop the farthest peer we have not asked yet, if the newcomer
    // is nearer; peers in flight or done are kept for bookkeeping.
    auto far = std::find_if(candidates_.rbegin(), candidates_.rend(), [](const Candidate& c) {
      return c.state == PeerState::kNotContacted;
    });
    if (far == candidates_.rend() || !(d < far->distance)) return;
    candidates_.erase(std::next(far).base());
    it = std::lower_bound(candidates_.begin(), candidates_.end(), d,
                          [](const Candidate& c, const Distance& x) { return c.distance < x; });
  }
  candidates_.insert(it, Candidate{peer, d, PeerState::kNotContacted, {}});
}

ClosestPeersQuery::Action ClosestPeersQuery::next(TimePoint now) {
  if (finished_) return {Action::Kind::kDone, std::nullopt};
  if (now >= query_deadline_) {
    finished_ = true;
    return {Action::Kind::kDone, std::nullopt};
  }
  // Timed-out requests free their slot.
  for (auto& c : candidates_) {
    if (c.state == PeerState::kWaiting && now >= c.request_deadline) {
      c.state = PeerState::kUnresponsive;
      --num_waiting_;
    }
  }
  // Walk the candidates nearest first: count answers until k; the first
  // peer not yet asked gets asked if alpha allows. Unlike rust-libp2p we do
  // not finish while a peer nearer than the k-th answer is still in flight:
  // the spec's rule is that the k closest have answered.
  std::size_t succeeded = 0;
  bool waiting_ahead = false;
  for (auto& c : candidates_) {
    switch (c.state) {
      case PeerState::kSucceeded:
        if (++succeeded >= config_.k) {
          if (waiting_ahead) return {Action::Kind::kWait, std::nullopt};
          finished_ = true;
          return {Action::Kind::kDone, std::nullopt};
        }
        break;
      case PeerState::kNotContacted:
        if (num_waiting_ >= config_.alpha) return {Action::Kind::kWait, std::nullopt};
        c.state = PeerState::kWaiting;
        c.request_deadline = now + config_.request_timeout;
        ++num_waiting_;
        return {Action::Kind::kQuery, c.id};
      case PeerState::kWaiting:
        waiting_ahead = true;
        break;
      case PeerState::kUnresponsive:
      case PeerState::kFailed:
        break;
    }
  }
  if (num_waiting_ > 0) return {Action::Kind::kWait, std::nullopt};
  finished_ = true;
  return {Action::Kind::kDone, std::nullopt};
}

void ClosestPeersQuery::on_success(const PeerId& peer, std::span<const PeerId> closer,
                                   TimePoint /*now*/) {
  if (finished_) return;
  Candidate* c = find(peer);
  if (!c) return;  // not a peer we asked
  switch (c->state) {
    case PeerState::kWaiting:
      --num_waiting_;
      [[fallthrough]];
    case PeerState::kUnresponsive:  // late answer: still useful
      c->state = PeerState::kSucceeded;
      break;
    default:
      return;  // unsolicited or duplicate answer
  }
  for (const auto& p : closer) add_candidate(p);
}

void ClosestPeersQuery::on_failure(const PeerId& peer, TimePoint /*now*/) {
  if (finished_) return;
  Candidate* c = find(peer);
  if (!c) return;
  if (c->state == PeerState::kWaiting) {
    --num_waiting_;
    c->state = PeerState::kFailed;
  } else if (c->state == PeerState::kUnresponsive) {
    c->state = PeerState::kFailed;
  }
}

std::optional<TimePoint> ClosestPeersQuery::deadline() const {
  if (finished_) return std::nullopt;
  TimePoint d = query_deadline_;
  for (const auto& c : candidates_) {
    if (c.state == PeerState::kWaiting) d = std::min(d, c.request_deadline);
  }
  return d;
}

std::vector<PeerId> ClosestPeersQuery::result() const {
  std::vector<PeerId> out;
  for (const auto& c : candidates_) {
    if (out.size() >= config_.k) break;
    if (c.state == PeerState::kSucceeded) out.push_back(c.id);
  }
  return out;
}

}  // namespace mp::kad

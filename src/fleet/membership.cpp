#include "fleet/membership.hpp"

#include <algorithm>

#include "core/hash.hpp"

namespace mp::fleet {

bool is_alive(const Member& m, std::int64_t now_ms, std::chrono::milliseconds heartbeat) {
  return now_ms - m.heartbeat_ms <= kMissedHeartbeatsGone * heartbeat.count();
}

std::vector<Member> alive_members(std::vector<Member> rows, std::int64_t now_ms,
                                  std::chrono::milliseconds heartbeat) {
  std::erase_if(rows, [&](const Member& m) { return !is_alive(m, now_ms, heartbeat); });
  std::sort(rows.begin(), rows.end(),
            [](const Member& a, const Member& b) { return a.peer_id < b.peer_id; });
  return rows;
}

std::string join_addrs(const std::vector<std::string>& addrs) {
  std::string out;
  for (const auto& a : addrs) {
    if (a.empty() || a.find(' ') != std::string::npos) continue;
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

std::vector<std::string> split_addrs(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty() && out.size() < kMaxMemberAddrs) {
    const std::size_t sp = text.find(' ');
    std::string_view a = text.substr(0, sp);
    if (!a.empty()) out.emplace_back(a);
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  return out;
}

void PullWindow::start_at(std::int64_t seq) {
  low_ = frontier_ = seq;
  seen_.clear();
  pending_.clear();
  started_ = true;
}

void PullWindow::start_behind(std::int64_t seq, const std::vector<std::int64_t>& visible,
                              std::uint64_t xid, std::uint64_t xmin) {
  start_at(seq);
  low_ = std::max<std::int64_t>(0, seq - max_window_);
  for (std::int64_t v : visible) {
    if (v > low_ && v <= frontier_) seen_.insert(v);
  }
  finish_pull(xid, xmin);
}

bool PullWindow::take(std::int64_t seq) {
  if (seq <= low_) return false;
  if (seq > frontier_) frontier_ = seq;
  return seen_.insert(seq).second;
}

void PullWindow::move_low(std::int64_t to) {
  if (to <= low_) return;
  low_ = to;
  seen_.erase(seen_.begin(), seen_.upper_bound(low_));
}

void PullWindow::finish_pull(std::uint64_t pull_xid, std::uint64_t snapshot_xmin) {
  // Pulls whose writers are all over: their rows were in this snapshot.
  while (!pending_.empty() && pending_.front().xid < snapshot_xmin) {
    move_low(pending_.front().frontier);
    pending_.pop_front();
  }
  // Nothing new since the last entry: that entry (older id) already covers it.
  if (frontier_ > low_ && (pending_.empty() || pending_.back().frontier != frontier_)) {
    pending_.push_back({pull_xid, frontier_});
  }
  bool cut = false;
  while (pending_.size() > kMaxPendingPulls) {
    move_low(pending_.front().frontier);
    pending_.pop_front();
    cut = true;
  }
  if (frontier_ - low_ > max_window_) {
    move_low(frontier_ - max_window_);
    cut = true;
  }
  if (cut) ++cuts_;
}

std::size_t shard_owner(const KeyBytes& peer, const std::vector<KeyBytes>& members) {
  std::size_t best = members.size();
  KeyBytes best_d{};
  for (std::size_t i = 0; i < members.size(); ++i) {
    KeyBytes d;
    for (std::size_t b = 0; b < d.size(); ++b) d[b] = static_cast<std::uint8_t>(peer[b] ^ members[i][b]);
    if (best == members.size() || d < best_d) {
      best = i;
      best_d = d;
    }
  }
  return best;
}

KeyBytes shard_key(const PeerId& peer) { return sha256(peer.bytes()); }

void VerificationShard::set_members(const std::vector<std::string>& peer_ids) {
  members_.clear();
  all_ = true;
  for (const auto& id : peer_ids) {
    if (auto p = PeerId::parse(id)) members_.push_back(shard_key(*p));
  }
  std::sort(members_.begin(), members_.end());
  members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
  const auto it = std::find(members_.begin(), members_.end(), self_);
  if (members_.size() < 2 || it == members_.end()) return;
  self_index_ = static_cast<std::size_t>(it - members_.begin());
  all_ = false;
}

bool VerificationShard::owns(const KeyBytes& peer) const {
  return all_ || shard_owner(peer, members_) == self_index_;
}

}  // namespace mp::fleet

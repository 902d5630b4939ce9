#include "storage/stored_peer_builder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>
#include <utility>

namespace mp::storage {
namespace {
// Invalid rows logged one by one at load before switching to a summary.
constexpr std::uint64_t kInvalidRowsLogged = 10;
}  // namespace

void StoredPeerBuilder::warn_invalid(std::string_view peer, std::string_view addr,
                                     const std::string& why) {
  if (++invalid_ <= kInvalidRowsLogged) {
    spdlog::warn("Skipping invalid stored peer record ({}, {}): {}", peer, addr, why);
  }
}

void StoredPeerBuilder::add(std::string_view peer_text, std::string_view addr_str,
                            double reputation, std::int64_t last_seen) {
  auto [it, fresh] = index_.try_emplace(std::string(peer_text), groups_.size());
  if (fresh) {
    Group g;
    auto id = PeerId::parse(peer_text);
    if (id) {
      // One peer may be spelled two ways (base58 and CID text, e.g. by
      // hand edits): both spellings share its group, so it loads once.
      auto [by_id_it, new_id] = by_id_.try_emplace(*id, groups_.size());
      if (!new_id) it->second = by_id_it->second;
      else g.id = std::move(*id);
    } else {
      warn_invalid(peer_text, addr_str, "bad peer id: " + id.message());
    }
    if (it->second == groups_.size()) groups_.push_back(std::move(g));
  }
  Group& g = groups_[it->second];
  if (!g.id) {
    if (!fresh) warn_invalid(peer_text, addr_str, "bad peer id");
    return;
  }
  auto addr = Multiaddr::parse(addr_str);
  if (!addr) {
    warn_invalid(peer_text, addr_str, "bad multiaddr: " + addr.message());
    return;
  }
  g.addrs.push_back(Addr{addr->without_peer_id(), reputation, std::min(last_seen, now_)});
}

std::vector<StoredPeer> StoredPeerBuilder::finish() {
  if (invalid_ > kInvalidRowsLogged) {
    spdlog::warn("Skipped {} invalid stored peer records in total", invalid_);
  }
  std::vector<StoredPeer> peers;
  peers.reserve(groups_.size());
  n_addrs_ = 0;
  for (Group& g : groups_) {
    if (!g.id || g.addrs.empty()) continue;
    std::sort(g.addrs.begin(), g.addrs.end(), [](const Addr& a, const Addr& b) {
      if (a.reputation != b.reputation) return a.reputation > b.reputation;
      return a.last_seen > b.last_seen;
    });
    StoredPeer p;
    p.id = std::move(*g.id);
    p.reputation = g.addrs.front().reputation;
    p.last_seen = 0;
    p.addrs.reserve(g.addrs.size());
    std::unordered_set<Multiaddr> kept;
    for (Addr& a : g.addrs) {
      p.last_seen = std::max(p.last_seen, a.last_seen);
      // Rows may name one address twice (with and without /p2p/, or under
      // two spellings of the peer): keep it once, from its best row.
      if (!kept.insert(a.addr).second) continue;
      p.addrs.push_back(std::move(a.addr));
    }
    n_addrs_ += p.addrs.size();
    peers.push_back(std::move(p));
  }
  groups_.clear();
  index_.clear();
  by_id_.clear();
  // Best first: the caller may fill a bounded routing table from the front.
  std::sort(peers.begin(), peers.end(), [](const StoredPeer& a, const StoredPeer& b) {
    if (a.reputation != b.reputation) return a.reputation > b.reputation;
    if (a.last_seen != b.last_seen) return a.last_seen > b.last_seen;
    return a.id < b.id;
  });
  return peers;
}

}  // namespace mp::storage

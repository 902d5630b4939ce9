#include "kad/routing_table.hpp"

#include <algorithm>

namespace mp::kad {

const char* to_string(UpdateOutcome o) {
  switch (o) {
    case UpdateOutcome::kInserted: return "inserted";
    case UpdateOutcome::kUpdated: return "updated";
    case UpdateOutcome::kPending: return "pending";
    case UpdateOutcome::kBucketFull: return "bucket_full";
    case UpdateOutcome::kIgnoredSelf: return "self";
    case UpdateOutcome::kRejectedNoAddresses: return "no_addresses";
    case UpdateOutcome::kRejectedNotServer: return "not_server";
    case UpdateOutcome::kRejectedDiversity: return "diversity";
  }
  return "unknown";
}

RoutingTable::RoutingTable(PeerId local, RoutingTableConfig config, TimePoint now)
    : local_(std::move(local)),
      local_key_(Key::from_peer(local_)),
      config_(std::move(config)),
      diversity_(config_.diversity) {
  for (auto& b : buckets_) b.last_refreshed_ = now;
}

void RoutingTable::expire_pending(KBucket& b, TimePoint now) {
  // The host never answered: keep the old peer (Kademlia prefers peers that
  // have been around longest) and let a later candidate try again.
  if (b.pending_ && now - b.pending_->since >= config_.pending_timeout) b.pending_.reset();
}

void RoutingTable::insert_entry(std::size_t index, PeerEntry entry) {
  diversity_.add(index, entry.groups);
  buckets_[index].entries_.push_back(std::move(entry));
  ++size_;
  ++version_;
  ++counters_.inserted;
}

void RoutingTable::erase_entry(std::size_t index, std::size_t pos) {
  auto& entries = buckets_[index].entries_;
  diversity_.remove(index, entries[pos].groups);
  entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(pos));
  --size_;
  ++version_;
}

UpdateResult RoutingTable::update(const PeerId& peer, std::vector<Multiaddr> addrs, bool is_server,
                                  TimePoint now) {
  const Key key = Key::from_peer(peer);
  const auto index_opt = bucket_index(key);
  if (peer == local_ || !index_opt) return {UpdateOutcome::kIgnoredSelf, std::nullopt};
  const std::size_t index = *index_opt;
  KBucket& b = buckets_[index];

  if (config_.policy == InsertPolicy::kServers && !is_server) {
    // go-libp2p-kad-dht: a peer that no longer advertises the protocol is
    // dropped from the table.
    remove(peer);
    return {UpdateOutcome::kRejectedNotServer, std::nullopt};
  }

  filter_addresses(addrs, config_.addresses);
  expire_pending(b, now);

  auto it = std::find_if(b.entries_.begin(), b.entries_.end(),
                         [&](const PeerEntry& e) { return e.id == peer; });
  if (it != b.entries_.end()) {
    if (!addrs.empty()) {
      // New addresses may move the peer to other IP groups; accept them only
      // within the diversity limits, else keep what we had.
      auto groups = ip_groups(addrs);
      diversity_.remove(index, it->groups);
      if (diversity_.allows(index, groups)) {
        if (it->addrs != addrs) ++version_;
        it->addrs = std::move(addrs);
        it->groups = std::move(groups);
      }
      diversity_.add(index, it->groups);
    }
    it->last_seen = now;
    // Most-recently seen goes last.
    std::rotate(it, it + 1, b.entries_.end());
    // Seeing the peer we were about to ping answers the check: it is alive.
    if (b.pending_ && b.pending_->ping == peer) b.pending_.reset();
    return {UpdateOutcome::kUpdated, std::nullopt};
  }

  if (b.pending_ && b.pending_->candidate.id == peer) {
    if (!addrs.empty()) {
      b.pending_->candidate.groups = ip_groups(addrs);
      b.pending_->candidate.addrs = std::move(addrs);
    }
    b.pending_->candidate.last_seen = now;
    return {UpdateOutcome::kBucketFull, std::nullopt};
  }

  if (addrs.empty()) {
    ++counters_.rejected_no_addresses;
    return {UpdateOutcome::kRejectedNoAddresses, std::nullopt};
  }
  PeerEntry entry{peer, key, std::move(addrs), now, {}};
  entry.groups = ip_groups(entry.addrs);
  if (!diversity_.allows(index, entry.groups)) {
    ++counters_.rejected_diversity;
    return {UpdateOutcome::kRejectedDiversity, std::nullopt};
  }

  if (b.entries_.size() < config_.k) {
    insert_entry(index, std::move(entry));
    return {UpdateOutcome::kInserted, std::nullopt};
  }
  if (b.pending_) {
    ++counters_.dropped_bucket_full;
    return {UpdateOutcome::kBucketFull, std::nullopt};
  }
  PendingEviction ev{b.entries_.front().id, peer};
  b.pending_ = KBucket::Pending{ev.ping, std::move(entry), now};
  return {UpdateOutcome::kPending, std::move(ev)};
}

void RoutingTable::resolve_pending(const PeerId& pinged, bool alive, TimePoint now) {
  const auto index_opt = bucket_index(Key::from_peer(pinged));
  if (!index_opt) return;
  const std::size_t index = *index_opt;
  KBucket& b = buckets_[index];
  if (!b.pending_ || b.pending_->ping != pinged) return;
  auto pending = std::move(*b.pending_);
  b.pending_.reset();

  auto it = std::find_if(b.entries_.begin(), b.entries_.end(),
                         [&](const PeerEntry& e) { return e.id == pinged; });
  if (alive) {
    if (it != b.entries_.end()) {
      it->last_seen = now;
      std::rotate(it, it + 1, b.entries_.end());
    }
    return;
  }
  if (it != b.entries_.end()) {
    erase_entry(index, static_cast<std::size_t>(it - b.entries_.begin()));
    ++counters_.evicted;
  }
  // Re-check diversity: the table may have changed since the candidate came.
  if (b.entries_.size() < config_.k && diversity_.allows(index, pending.candidate.groups)) {
    pending.candidate.last_seen = now;
    insert_entry(index, std::move(pending.candidate));
  }
}

bool RoutingTable::remove(const PeerId& peer) {
  const auto index_opt = bucket_index(Key::from_peer(peer));
  if (!index_opt) return false;
  const std::size_t index = *index_opt;
  KBucket& b = buckets_[index];
  if (b.pending_ && b.pending_->candidate.id == peer) b.pending_.reset();
  auto it = std::find_if(b.entries_.begin(), b.entries_.end(),
                         [&](const PeerEntry& e) { return e.id == peer; });
  if (it == b.entries_.end()) return false;
  erase_entry(index, static_cast<std::size_t>(it - b.entries_.begin()));
  // A slot opened: the waiting candidate needs no check any more.
  if (b.pending_) {
    auto pending = std::move(*b.pending_);
    b.pending_.reset();
    if (diversity_.allows(index, pending.candidate.groups)) {
      insert_entry(index, std::move(pending.candidate));
    }
  }
  return true;
}

const PeerEntry* RoutingTable::find(const PeerId& peer) const {
  const auto index_opt = bucket_index(Key::from_peer(peer));
  if (!index_opt) return nullptr;
  for (const auto& e : buckets_[*index_opt].entries_) {
    if (e.id == peer) return &e;
  }
  return nullptr;
}

void RoutingTable::closest(const Key& target, std::size_t count, std::vector<const PeerEntry*>& out,
                           const PeerId* exclude) const {
  auto add_bucket = [&](std::size_t j) {
    for (const auto& e : buckets_[j].entries_) {
      if (exclude && e.id == *exclude) continue;
      out.push_back(&e);
    }
  };
  closest_in_bands(local_key_, target, count, kBuckets, out, add_bucket,
                   [](const PeerEntry* e) -> const Key& { return e->key; });
}

std::vector<PeerId> RoutingTable::closest_peers(const Key& target, std::size_t count,
                                                const PeerId* exclude) const {
  closest(target, count, scratch_, exclude);
  std::vector<PeerId> ids;
  ids.reserve(scratch_.size());
  for (const auto* e : scratch_) ids.push_back(e->id);
  return ids;
}

}  // namespace mp::kad

// The node and its peer store: opening the engine the Config names, seeding
// the routing table from it at start, writing identify results and dial
// outcomes through (the writer thread does the disk work; nothing here
// waits), and the periodic maintenance.
#include "app/node_storage.hpp"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "app/fleet_service.hpp"
#include "app/node.hpp"
#include "app/reverification.hpp"
#include "app/warm_start.hpp"
#include "storage/pg_peer_store.hpp"
#include "storage/sqlite_peer_store.hpp"

namespace mp::app {
namespace {

// Addresses worth remembering: not relayed (a relay address lives only as
// long as the reservation), and not private unless the operator allows it.
bool storable(const Multiaddr& a, bool allow_private) {
  if (a.empty() || a.is_circuit()) return false;
  if (!a.tcp_endpoint() && !a.value_of(Proto::kDns) && !a.value_of(Proto::kDns4) &&
      !a.value_of(Proto::kDns6) && !a.value_of(Proto::kUdp)) {
    return false;
  }
  return allow_private || !a.is_private_or_local();
}

}  // namespace

Result<std::unique_ptr<storage::PeerStore>> open_peer_store(const Config& config, const PeerId& local) {
  // DATABASE_URL selects PostgreSQL, else SQLite in DATA_DIR.
  if (!config.database_url.empty()) {
    storage::PgPeerStoreConfig pcfg;
    pcfg.url = config.database_url;
    pcfg.seen_by = local.to_base58();
    pcfg.batch.peer_max_age_secs = config.peer_max_age.count();
    auto pg = storage::PgPeerStore::open(std::move(pcfg));
    if (!pg) return pg.error();
    return std::unique_ptr<storage::PeerStore>(std::move(*pg));
  }
  storage::SqlitePeerStoreConfig scfg;
  scfg.data_dir = config.data_dir;
  scfg.peer_max_age_secs = config.peer_max_age.count();
  scfg.lock_data_dir = false;  // run_node holds the DATA_DIR lock for the life of the process
  auto sqlite = storage::SqlitePeerStore::open(scfg);
  if (!sqlite) return sqlite.error();
  return std::unique_ptr<storage::PeerStore>(std::move(*sqlite));
}

void Node::load_stored_peers() {
  if (!store_) return;
  // PostgreSQL down at start: the store hands the peers over once it is back
  // (on its writer thread; they are seeded on ours).
  store_->set_deferred_load_handler([this](std::vector<storage::StoredPeer> peers) {
    asio::post(io_, [this, peers = std::move(peers)]() mutable { seed_routing_table(std::move(peers)); });
  });
  auto peers = store_->load_peers();
  if (!peers) {
    spdlog::error("Could not load stored peers: {}", peers.message());
    return;
  }
  seed_routing_table(std::move(*peers));
}

void Node::seed_routing_table(std::vector<storage::StoredPeer> peers) {
  if (stopping_ || warm_start_) return;
  const auto now = kad::Clock::now();
  std::vector<storage::StoredPeer> seeded;
  for (auto& p : peers) {
    if (p.id == host_.local_peer()) continue;
    // Stored peers were admitted before; they answer FIND_NODE at once.
    auto r = kad_.on_peer_identified(p.id, p.addrs, true, now);
    if (r.outcome == kad::UpdateOutcome::kInserted || r.outcome == kad::UpdateOutcome::kUpdated) {
      seeded.push_back(std::move(p));
    }
  }
  spdlog::info("Routing table seeded with {} stored peers", seeded.size());
  if (reverify_) {
    for (const auto& p : seeded) reverify_->book().set_reputation(p.id, p.reputation);
  }
  // Then find out in the background which of them are still reachable.
  warm_start_ = std::make_unique<WarmStart>(host_, kad_, *store_, WarmStartConfig{});
  // wiring: fleet sharding. Asked at dial time: fleet_ starts after the first load.
  warm_start_->set_shard_filter([this](const PeerId& p) { return !fleet_ || fleet_->owns(p); });
  if (fleet_) fleet_->set_verification_set(seeded);
  warm_start_->set_outcome_handler([this](const storage::StoredPeer& p, VerificationOutcome o) {
    if (reverify_) reverify_->book().record(p.id, o);
  });
  warm_start_->start(io_.get_executor(), std::move(seeded));
}

// Store what the routing table would admit after a restart (load_stored_peers
// inserts stored peers as Kademlia servers).
// Fairness of the peer-store queue: one peer's updates are coalesced to
// one batch of at most kStoredAddrsPerPeer addresses per
// kStoreIntervalPerPeer (identify pushes can come often), so no peer can
// fill the queue other peers need.
void Node::store_identified(const host::IdentifyReceived& id, bool supports_kad) {
  if (!store_ || !(supports_kad || config_.kad_insert == KadInsert::kAll)) return;
  constexpr std::size_t kStoredAddrsPerPeer = 16;
  constexpr auto kStoreIntervalPerPeer = std::chrono::seconds(30);
  const auto now = kad::Clock::now();
  auto [it, first] = last_stored_.try_emplace(id.peer, now);
  if (!first && now - it->second < kStoreIntervalPerPeer) return;
  it->second = now;
  std::size_t stored = 0;
  for (const auto& a : id.info.listen_addrs) {
    if (stored >= kStoredAddrsPerPeer) break;
    if (storable(a, config_.allow_private_addrs)) {
      store_->add_peer(id.peer, a.without_peer_id());
      ++stored;
    }
  }
}

// The remote address of an outbound connection is one we could dial; an
// inbound one is an ephemeral port (the seed stored it: it is useless).
void Node::store_dial_success(const host::ConnectionEstablished& est) {
  if (est.direction == host::Direction::kOutbound && store_ &&
      storable(est.remote_addr, config_.allow_private_addrs)) {
    store_->record_dial_success(est.peer, est.remote_addr);
  }
}

// A routing-table peer we could not dial during a lookup: the failure is
// recorded in the peer store (reputation, which the warm start reads across
// restarts), and kad::DialFailures decides when it leaves the table.
void Node::on_unreachable(const PeerId& peer) {
  if (store_) store_->record_dial_failure(peer);
  if (reverify_) reverify_->book().record(peer, VerificationOutcome::kUnreachable);
  if (dial_failures_.failed(peer)) {
    kad_.on_peer_unreachable(peer);
    spdlog::debug("{} unreachable twice in a row: removed from the routing table", peer.to_base58());
  }
}

asio::awaitable<void> Node::maintenance_loop() {
  asio::steady_timer t(io_);
  while (!stopping_ && store_) {
    t.expires_after(config_.storage_maintenance_interval);
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    std::vector<PeerId> connected;
    for (const auto& c : host_.connections()) connected.push_back(c->remote_peer());
    store_->schedule_maintenance(std::move(connected));  // runs on the writer thread
  }
}

}  // namespace mp::app

#include "kad/dht_service.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <stdexcept>
#include <unordered_set>

#include "kad/refresh.hpp"
#include "kad/rpc.hpp"
#include "net/deadline.hpp"

namespace mp::kad {

DhtService::DhtService(asio::any_io_executor executor, host::Host& host, Kademlia& kad,
                       DhtServiceConfig config)
    : executor_(std::move(executor)),
      host_(host),
      kad_(kad),
      config_(std::move(config)),
      timer_(executor_) {}

void DhtService::start() { asio::co_spawn(executor_, run(), asio::detached); }

void DhtService::stop() {
  stopping_ = true;
  timer_.cancel();
}

asio::awaitable<void> DhtService::run() {
  co_await bootstrap();
  while (!stopping_) {
    timer_.expires_after(kad_.config().refresh_interval);
    std::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    co_await refresh();
  }
}

asio::awaitable<void> DhtService::dial_bootstrap_peer(Multiaddr addr) {
  try {
    co_await host_.dial(addr);
    spdlog::info("Connected to bootstrap peer {}", addr.to_string());
  } catch (const std::exception& e) {
    spdlog::warn("Could not reach bootstrap peer {}: {}", addr.to_string(), e.what());
  }
}

std::vector<PeerInfo> DhtService::bootstrap_seeds() const {
  std::vector<PeerInfo> out;
  for (const auto& a : config_.bootstrap_peers) {
    auto id = a.peer_id();
    if (!id || *id == kad_.local_peer()) continue;
    PeerInfo p;
    p.id = *id;
    p.addrs.push_back(a.without_peer_id());
    out.push_back(std::move(p));
  }
  return out;
}

asio::awaitable<void> DhtService::bootstrap() {
  for (const auto& a : config_.bootstrap_peers) {
    Multiaddr addr = a;
    co_await dial_bootstrap_peer(std::move(addr));
  }
  if (config_.bootstrap_peers.empty()) co_return;  // nobody to ask yet
  co_await refresh();
}

asio::awaitable<host::NegotiatedStream> DhtService::open_stream(const PeerInfo& peer) {
  auto conn = host_.connection_to(peer.id);
  if (!conn) {
    std::string last_error = "no address known";
    for (const auto& a : peer.addrs) {
      Multiaddr addr = a;
      std::optional<PeerId> expected = peer.id;
      try {
        conn = co_await host_.dial(std::move(addr), std::move(expected));
        break;
      } catch (const std::exception& e) {
        last_error = e.what();
      }
    }
    if (!conn) {
      stats_.dial_failures.fetch_add(1, std::memory_order_relaxed);
      if (kad_.routing_table().contains(peer.id)) {
        spdlog::debug("kad: {} unreachable ({})", peer.id.to_string(), last_error);
        if (config_.on_unreachable) {
          config_.on_unreachable(peer.id);
        } else {
          kad_.on_peer_unreachable(peer.id);
        }
        if (!kad_.routing_table().contains(peer.id)) {
          stats_.removed_unreachable.fetch_add(1, std::memory_order_relaxed);
        }
      }
      throw std::runtime_error("cannot reach " + peer.id.to_string() + ": " + last_error);
    }
  }
  co_return co_await conn->open_stream(kad_.config().protocols);
}

asio::awaitable<Message> DhtService::send(PeerInfo peer, Message request) {
  stats_.requests_sent.fetch_add(1, std::memory_order_relaxed);
  const auto started = Clock::now();
  std::exception_ptr error;
  std::optional<Message> answer;
  bool timed_out = false;
  try {
    host::NegotiatedStream s = co_await open_stream(peer);
    // The request timeout covers the exchange; dialing and negotiation have
    // the Host's own timeouts. Resetting the stream makes the read throw.
    net::Deadline deadline(executor_, kad_.config().request_timeout, s.stream);
    try {
      answer = co_await send_request(*s.stream, request, kad_.config().max_message_size);
    } catch (const std::exception&) {
      timed_out = deadline.fired();
      throw;
    }
  } catch (const std::exception&) {
    error = std::current_exception();
  }
  const bool ok = !error;
  if (!ok) stats_.requests_failed.fetch_add(1, std::memory_order_relaxed);
  if (observer_ && expects_response(request)) observer_(request.type(), Clock::now() - started, ok);
  if (timed_out) throw std::runtime_error("no answer within the request timeout");
  if (error) std::rethrow_exception(error);
  co_return answer ? std::move(*answer) : Message{};
}

namespace {
// The SendRequest a lookup uses: a plain lambda calling the named
// coroutine (see lookup.hpp).
struct Sender {
  DhtService* service;
  asio::awaitable<Message> operator()(PeerInfo peer, Message request) const {
    return service->send(std::move(peer), std::move(request));
  }
};
}  // namespace

SendRequest DhtService::sender() { return Sender{this}; }

asio::awaitable<LookupResult> DhtService::find_closest(Bytes key, std::vector<PeerInfo> extra_seeds) {
  stats_.lookups.fetch_add(1, std::memory_order_relaxed);
  const Key target = Key::from_bytes(key);
  const auto now = Clock::now();
  std::vector<PeerInfo> known;
  std::vector<const PeerEntry*> closest;
  kad_.routing_table().closest(target, kad_.config().k, closest);
  std::vector<PeerId> seeds;
  for (const PeerEntry* e : closest) {
    seeds.push_back(e->id);
    known.push_back(PeerInfo{e->id, e->addrs, pb::Message_ConnectionType_NOT_CONNECTED});
  }
  for (auto& p : extra_seeds) {
    seeds.push_back(p.id);
    known.push_back(std::move(p));
  }
  ClosestPeersQuery query(target, kad_.local_peer(), seeds, kad_.query_config(), now);
  Message request = make_find_node(key);
  co_return co_await run_lookup(std::move(query), std::move(known), std::move(request), sender(),
                                kad_.address_policy());
}

asio::awaitable<RefreshSummary> DhtService::refresh() {
  stats_.refreshes.fetch_add(1, std::memory_order_relaxed);
  auto& table = kad_.routing_table();
  std::unordered_set<PeerId> before;
  for (std::size_t b = 0; b < RoutingTable::kBuckets; ++b) {
    for (const auto& e : table.bucket(b).entries()) before.insert(e.id);
  }
  RefreshSummary summary;
  std::unordered_set<PeerId> found;
  auto account = [&](const LookupResult& r) {
    ++summary.lookups;
    summary.failures += r.failures;
    for (const auto& id : r.answered) {
      if (!before.count(id)) found.insert(id);
    }
  };
  // Self-lookup first (it fills the buckets nearest to us), seeded also with
  // the bootstrap peers in case the table lost them.
  {
    Bytes self(kad_.local_peer().bytes().begin(), kad_.local_peer().bytes().end());
    auto seeds = bootstrap_seeds();
    account(co_await find_closest(std::move(self), std::move(seeds)));
  }
  const auto targets = stale_buckets(table, Clock::now(), rng_, kad_.config().refresh_interval,
                                     config_.max_refresh_buckets);
  for (const auto& t : targets) {
    if (stopping_) break;
    Bytes key = t.target.key_bytes;
    account(co_await find_closest(std::move(key)));
    table.mark_refreshed(t.bucket, Clock::now());
  }
  summary.table_size = table.size();
  summary.new_peers = found.size();
  spdlog::info("Kademlia refresh: {} peers in routing table, {} lookups found {} new peers "
               "({} failed requests)",
               summary.table_size, summary.lookups, summary.new_peers, summary.failures);
  co_return summary;
}

}  // namespace mp::kad

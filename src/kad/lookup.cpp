#include "kad/lookup.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <unordered_map>

namespace mp::kad {
namespace {

// Shared by the driver and its in-flight requests; everything runs on one
// strand, so no locking.
struct LookupState {
  LookupState(ClosestPeersQuery q, const asio::any_io_executor& ex) : query(std::move(q)), wake(ex) {}

  ClosestPeersQuery query;
  asio::steady_timer wake;  // cancelled whenever a request completes
  Message request;
  SendRequest send;
  OnAnswer on_answer;
  AddressPolicy policy;
  std::unordered_map<PeerId, std::vector<Multiaddr>> addrs;
  LookupResult result;
};

asio::awaitable<void> query_peer(std::shared_ptr<LookupState> st, PeerInfo peer) {
  std::optional<Message> answer;
  try {
    answer = co_await st->send(peer, st->request);
  } catch (const std::exception& e) {
    spdlog::debug("kad: {} to {} failed: {}", message_type_name(st->request.type()),
                  peer.id.to_string(), e.what());
  }
  const auto now = Clock::now();
  if (!answer) {
    ++st->result.failures;
    st->query.on_failure(peer.id, now);
  } else if (!st->query.finished()) {
    st->result.answered.push_back(peer.id);
    auto closer = parse_peers(answer->closerpeers(), st->policy);
    std::vector<PeerId> ids;
    ids.reserve(closer.size());
    for (const auto& p : closer) ids.push_back(p.id);
    st->query.on_success(peer.id, ids, now);
    // Keep addresses only of peers the query kept as candidates: the map
    // stays bounded by QueryConfig::max_candidates.
    for (auto& p : closer) {
      if (p.addrs.empty() || !st->query.state_of(p.id)) continue;
      auto& slot = st->addrs[p.id];
      if (slot.empty()) slot = std::move(p.addrs);
    }
    if (st->on_answer && st->on_answer(peer, *answer)) {
      st->result.stopped_early = true;
      st->query.finish();
    }
  }
  st->wake.cancel();
}

}  // namespace

asio::awaitable<LookupResult> run_lookup(ClosestPeersQuery query, std::vector<PeerInfo> known,
                                         Message request, SendRequest send, AddressPolicy policy,
                                         OnAnswer on_answer) {
  const auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<LookupState>(std::move(query), ex);
  st->request = std::move(request);
  st->send = std::move(send);
  st->on_answer = std::move(on_answer);
  st->policy = policy;
  for (auto& p : known) {
    if (!p.addrs.empty()) st->addrs[p.id] = std::move(p.addrs);
  }
  for (;;) {
    const auto action = st->query.next(Clock::now());
    if (action.kind == ClosestPeersQuery::Action::Kind::kDone) break;
    if (action.kind == ClosestPeersQuery::Action::Kind::kQuery) {
      PeerInfo info;
      info.id = *action.peer;
      if (auto it = st->addrs.find(info.id); it != st->addrs.end()) info.addrs = it->second;
      ++st->result.requests;
      asio::co_spawn(ex, query_peer(st, std::move(info)), asio::detached);
      continue;
    }
    // kWait: until an answer arrives (the timer is cancelled) or the
    // earliest request / query deadline passes.
    const auto deadline = st->query.deadline();
    if (!deadline) break;
    st->wake.expires_at(*deadline);
    std::error_code ec;
    co_await st->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  LookupResult out = std::move(st->result);
  for (auto& id : st->query.result()) {
    PeerInfo p;
    p.id = id;
    if (auto it = st->addrs.find(id); it != st->addrs.end()) p.addrs = it->second;
    out.closest.push_back(std::move(p));
  }
  co_return out;
}

}  // namespace mp::kad

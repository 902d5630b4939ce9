#include "kad/eviction_ping.hpp"

#include <spdlog/spdlog.h>

#include "ping/ping.hpp"

namespace mp::kad {

asio::awaitable<void> ping_eviction_candidate(host::Host& host, Kademlia& kad, PeerId peer) {
  bool alive = false;
  try {
    std::vector<std::string> protos{std::string(ping::kProtocol)};
    std::vector<Multiaddr> addrs;
    if (const auto* entry = kad.routing_table().find(peer)) addrs = entry->addrs;
    auto s = co_await host.new_stream(peer, std::move(protos), addrs);
    co_await ping::ping_once(*s.stream);
    co_await s.stream->close_write();
    alive = true;
  } catch (const std::exception& e) {
    spdlog::debug("eviction check of {} failed: {}", peer.to_base58(), e.what());
  }
  kad.resolve_pending(peer, alive, Clock::now());
}

}  // namespace mp::kad

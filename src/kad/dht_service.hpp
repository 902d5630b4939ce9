// DhtService: the client side of our Kademlia node, as thin coroutine glue
// around the pure parts. It sends requests to other peers over Host streams
// (rpc.hpp), drives iterative lookups (lookup.hpp) and keeps the routing
// table fresh (refresh.hpp); the server side is serve_stream (server.hpp).
//
// What it does once start()ed:
//   bootstrap  dial every configured bootstrap peer (multiaddr with /p2p/),
//              then a self-lookup seeded with them;
//   refresh    every refresh_interval: a self-lookup, then one FIND_NODE
//              lookup for a random key in each stale bucket (libp2p/specs
//              kad-dht/README.md "Bootstrap process"); one info line each.
//
// How the routing table learns from lookups: a peer named in an answer is
// not inserted on hearsay. Asking it dials it; the connection runs
// identify, and the node's identify handler inserts it (with the listen
// addresses it reports itself and only if it speaks kad under the kServers
// policy). rust-libp2p likewise adds a peer when a connection confirms the
// kad protocol, not when another peer mentions it.
//
// Unreachable peers: a peer of the routing table we cannot dial at all
// (every address fails) is removed from it, as go-libp2p-kad-dht does on a
// dial failure during a query. rust-libp2p instead keeps such a peer with
// its last address until a newcomer needs the slot; a bootstrap node hands
// its table to every client, so we prefer not to serve dead peers. A
// request that fails on an established connection (reset, timeout, bad
// answer) only counts as a failure in its query.
//
// Runs on the Host's io_context thread; Kademlia must be used from that
// thread only. Counters are atomics and may be read from anywhere.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "core/multiaddr.hpp"
#include "host/host.hpp"
#include "kad/kademlia.hpp"
#include "kad/lookup.hpp"

namespace mp::kad {

struct DhtServiceConfig {
  std::vector<Multiaddr> bootstrap_peers;  // each with /p2p/<id>
  // Buckets refreshed per round at most (go-libp2p-kad-dht caps at 16).
  std::size_t max_refresh_buckets = 16;
  // Called when a routing-table peer cannot be dialled at all. Default:
  // remove it at once (go-libp2p-kad-dht). The node passes a policy that
  // also records the failure in the peer store and forgives one failure.
  std::function<void(const PeerId&)> on_unreachable;
};

struct DhtStats {
  std::atomic<std::uint64_t> requests_sent{0};
  std::atomic<std::uint64_t> requests_failed{0};   // any failure, dials included
  std::atomic<std::uint64_t> dial_failures{0};
  std::atomic<std::uint64_t> removed_unreachable{0};  // routing-table peers dropped
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<std::uint64_t> refreshes{0};
};

// What one refresh round did (also logged).
struct RefreshSummary {
  std::size_t lookups = 0;
  std::size_t table_size = 0;      // after the round
  std::size_t new_peers = 0;       // answered us and were not in the table before
  std::size_t failures = 0;
};

class DhtService {
 public:
  // Called after every outbound request that expected an answer, with its
  // type, the time from stream open to answer, and whether it succeeded
  // (the node feeds a latency histogram with it).
  using RequestObserver = std::function<void(MessageType type, Duration elapsed, bool ok)>;

  DhtService(asio::any_io_executor executor, host::Host& host, Kademlia& kad,
             DhtServiceConfig config);
  DhtService(const DhtService&) = delete;
  DhtService& operator=(const DhtService&) = delete;

  // Spawns bootstrap, then the refresh loop.
  void start();
  // Ends the refresh loop (lookups in progress run out on their own).
  void stop();

  // One request to `peer`: reuses a connection or dials peer.addrs, opens a
  // stream on one of the configured protocols, bounded by the request
  // timeout. Returns the answer (an empty Message for ADD_PROVIDER); throws
  // on failure.
  asio::awaitable<Message> send(PeerInfo peer, Message request);

  // A FIND_NODE lookup for `key` (Peer ID bytes, or any key), seeded with
  // the routing table's closest peers plus `extra_seeds`.
  asio::awaitable<LookupResult> find_closest(Bytes key, std::vector<PeerInfo> extra_seeds = {});

  asio::awaitable<void> bootstrap();
  asio::awaitable<RefreshSummary> refresh();

  void set_request_observer(RequestObserver fn) { observer_ = std::move(fn); }
  const DhtStats& stats() const { return stats_; }

 private:
  asio::awaitable<host::NegotiatedStream> open_stream(const PeerInfo& peer);
  asio::awaitable<void> run();
  asio::awaitable<void> dial_bootstrap_peer(Multiaddr addr);
  std::vector<PeerInfo> bootstrap_seeds() const;
  SendRequest sender();

  asio::any_io_executor executor_;
  host::Host& host_;
  Kademlia& kad_;
  DhtServiceConfig config_;
  DhtStats stats_;
  RequestObserver observer_;
  std::mt19937_64 rng_{std::random_device{}()};
  asio::steady_timer timer_;
  bool stopping_ = false;
};

}  // namespace mp::kad

// run_lookup: the I/O driver of one iterative lookup (libp2p/specs
// kad-dht/README.md "Peer routing"). It asks ClosestPeersQuery who is next,
// keeps up to alpha requests in flight (each its own coroutine), feeds the
// answers back and returns when the query is done or its query_timeout has
// passed. The request itself (dial, stream, write, read) is the caller's
// SendRequest, so this file knows nothing about connections and is tested
// with a fake network.
//
// Addresses: the caller gives what it knows of the seeds; addresses of
// peers learned from answers (closerPeers, filtered by `policy`) are kept for
// as long as the peer is a candidate, so the next request can dial it.
//
// Requests still running when the lookup ends finish on their own (they
// keep the shared state alive) and their answers are ignored.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <functional>
#include <vector>

#include "kad/address_filter.hpp"
#include "kad/protocol.hpp"
#include "kad/query.hpp"

namespace mp::kad {

// Sends `request` to `peer` (dialing one of peer.addrs if need be) and
// returns its answer; throws on any failure (dial, reset, timeout, bad
// answer). Must be a plain function object that returns the awaitable of a
// named coroutine (GCC 12 miscompiles coroutine lambdas).
using SendRequest = std::function<asio::awaitable<Message>(PeerInfo peer, Message request)>;
// Sees every answer; returning true ends the lookup (e.g. a value found).
using OnAnswer = std::function<bool(const PeerInfo& from, const Message& answer)>;

struct LookupResult {
  std::vector<PeerInfo> closest;  // up to k peers that answered, nearest first
  std::vector<PeerId> answered;   // every peer that answered, in answer order
  std::size_t requests = 0;
  std::size_t failures = 0;       // dial errors, resets, bad answers
  bool stopped_early = false;     // OnAnswer asked to stop
};

// `known` gives addresses for seeds (or any peer) the caller already knows.
asio::awaitable<LookupResult> run_lookup(ClosestPeersQuery query, std::vector<PeerInfo> known,
                                         Message request, SendRequest send, AddressPolicy policy,
                                         OnAnswer on_answer = {});

}  // namespace mp::kad

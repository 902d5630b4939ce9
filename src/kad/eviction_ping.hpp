// Kademlia's rule for a full bucket (libp2p/specs kad-dht, "k-buckets"): the
// least-recently-seen entry stays if it still answers, the newcomer waits.
// Kademlia::on_peer_identified names the entry to ask (PendingEviction);
// this pings it over the host and resolves the pending insert.
#pragma once

#include <asio/awaitable.hpp>

#include "core/peer_id.hpp"
#include "host/host.hpp"
#include "kad/kademlia.hpp"

namespace mp::kad {

// Opens /ipfs/ping/1.0.0 to `peer` (its routing-table addresses), sends one
// ping, and calls kad.resolve_pending(peer, answered, now). Never throws: a
// failed dial, stream or ping means "not alive".
asio::awaitable<void> ping_eviction_candidate(host::Host& host, Kademlia& kad, PeerId peer);

}  // namespace mp::kad

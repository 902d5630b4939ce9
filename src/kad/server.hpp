// Inbound /ipfs/kad/1.0.0 streams: read a request, answer, repeat until the
// remote closes its side (libp2p/specs kad-dht/README.md "RPC messages":
// "Implementations must handle additional RPC request messages on an
// incoming stream"). Each message is an unsigned-varint length prefix and a
// protobuf Message of at most KadConfig::max_message_size bytes.
//
// The stream ends (reset) on: an oversized or malformed message, an unknown
// type, a refused request that expects an answer, or no request within
// KadConfig::inbound_idle_timeout. Each is counted by reason in
// Kademlia::counters() and logged at debug only: a peer must not be able to
// buy one log line per request (the app logs a periodic summary of the
// counters instead). Reads and writes reuse per-stream buffers: no
// allocation per request once warm.
//
// Threads (ARCHITECTURE.md "Threads"): the stream may be served on a
// connection thread other than `owner`, the executor that owns `kad`.
// Then FIND_NODE is answered on the stream's thread from the published
// RoutingSnapshot through a per-thread SnapshotReader (one atomic load when
// the snapshot is current; when the owner changed something since, one hop
// to `owner` to publish a new one first), and every other request hops to
// `owner` with a copy of its bytes and comes back with the answer's bytes,
// which the stream's thread writes. On `owner`'s own thread (with
// NETWORK_THREADS=1, always) every request is answered inline by
// Kademlia::answer, as before.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <memory>
#include <string>

#include "core/peer_id.hpp"
#include "kad/kademlia.hpp"
#include "net/byte_stream.hpp"

namespace mp::kad {

// `kad` must outlive the coroutine; `owner` is the executor that owns it
// (host::Host::executor()), the coroutine runs on the stream's. `remote_ip`
// is the connection's remote IP (per-IP store quotas). A stream on which no
// request arrives (and is answered) within Config::inbound_idle_timeout is
// reset. Returns when the stream is done; never throws for remote
// misbehaviour or resets.
asio::awaitable<void> serve_stream(Kademlia& kad, asio::any_io_executor owner,
                                   std::shared_ptr<net::ByteStream> stream, const PeerId& remote,
                                   std::string remote_ip = {});
// The same, with `kad` owned by the caller's own executor.
asio::awaitable<void> serve_stream(Kademlia& kad, std::shared_ptr<net::ByteStream> stream,
                                   const PeerId& remote, std::string remote_ip = {});

}  // namespace mp::kad

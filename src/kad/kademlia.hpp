// Kademlia: the node-wide DHT logic (rust-libp2p's behaviour.rs role). It
// owns the routing table and the record and provider stores and answers
// requests with handle(): a pure function of (remote peer, request, now)
// plus that state. Stream I/O is in server.hpp, outbound requests are built
// with protocol.hpp and driven by ClosestPeersQuery (query.hpp).
//
// What the host calls:
//   on_peer_identified  after identify (addresses, kad support)
//   resolve_pending     with the outcome of a ping asked by a PendingEviction
//   on_peer_unreachable when a peer of the table fails repeatedly
//   handle / serve_stream for inbound /ipfs/kad/1.0.0 streams
//   start_lookup        to begin a FIND_NODE lookup (refresh, bootstrap)
//
// Answers (libp2p/specs kad-dht/README.md "RPC messages"; where the spec is
// silent, go-libp2p-kad-dht handlers.go):
//   FIND_NODE      k closest known peers to sha256(key), never the requester;
//                  ourselves when the key is our own Peer ID (go)
//   GET_VALUE      the record if stored, plus closer peers
//   PUT_VALUE      key must equal record.key; validated; echoed back (go)
//   GET_PROVIDERS  live providers plus closer peers
//   ADD_PROVIDER   only the sender itself is recorded; no response
//   PING           echoed (spec: "respond with PING")
// The stores charge each record to the sender's Peer ID and remote IP
// (quotas and eviction policy: record_store.hpp, provider_store.hpp).
// Refusals are counted by reason, never logged one by one (a summary line
// is the app's job). A refused request that expects an answer
// ends the stream (go resets it), so the client fails fast instead of
// waiting for its timeout.
//
// Closer peers (FIND_NODE, GET_VALUE, GET_PROVIDERS) come from a
// RoutingSnapshot, not the live table. Every change an answer would show
// (the table's peers or their addresses, our addresses, a table peer's
// connectedness) bumps changes(), an atomic any thread may read; each
// snapshot carries the count it was built at. The owner rebuilds and
// publishes (in a SnapshotCell, snapshot()) on the first answer or
// publish_snapshot() after a change; a connection thread whose snapshot is
// behind changes() asks the owner to publish_snapshot() (server.hpp).
// write_find_node_answer() on a snapshot is the whole FIND_NODE answer and
// needs nothing else.
//
// Not thread-safe (except the members marked "any thread": snapshots,
// changes, FIND_NODE from a snapshot, the counters): use from the executor
// that owns it. Counters are atomics so /metrics and connection threads may
// touch them. Change the routing table only through Kademlia's methods
// (routing_table() is for reading and mark_refreshed), so changes() sees it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "kad/config.hpp"
#include "kad/protocol.hpp"
#include "kad/provider_store.hpp"
#include "kad/query.hpp"
#include "kad/record_store.hpp"
#include "kad/record_validator.hpp"
#include "kad/routing_snapshot.hpp"
#include "kad/routing_table.hpp"

namespace mp::kad {

struct KadConfig {
  // Protocol ids we serve (and speak first when dialing).
  std::vector<std::string> protocols{std::string(kDefaultProtocol)};
  std::size_t k = kK;
  std::size_t alpha = kAlpha;
  std::size_t max_message_size = kMaxMessageSize;
  InsertPolicy insert_policy = InsertPolicy::kServers;
  bool allow_private_addrs = false;
  std::size_t max_addrs_per_peer = 16;
  DiversityLimits diversity;
  RecordStoreLimits records;
  ProviderStoreLimits providers;
  RecordValidation validation;
  Duration request_timeout = kRequestTimeout;
  Duration query_timeout = kQueryTimeout;
  Duration refresh_interval = kRefreshInterval;
  Duration inbound_idle_timeout = kInboundStreamIdleTimeout;
};

enum class Refusal : std::size_t {
  kMalformed,  // not a protobuf Message
  kOversized,  // length prefix over max_message_size
  kUnknownType,
  kMissingKey,
  kMissingRecord,   // PUT_VALUE without a record
  kKeyMismatch,     // PUT_VALUE key != record.key
  kInvalidRecord,   // validator refused (/pk/, /ipns/, namespace)
  kRecordTooLarge,  // key or value over the store limits
  kRecordStoreFull,
  kOlderRecord,         // /ipns/ with a sequence not above the stored one
  kInvalidProviderKey,  // not a multihash, or too long
  kProviderNotSender,   // ADD_PROVIDER for another peer
  kProviderStoreFull,   // in total (count or bytes), nobody to evict
  kRecordPeerQuota,     // sender peer at max_records_per_peer
  kRecordIpQuota,       // sender IP at max_records_per_ip
  kProviderKeyFull,     // max_providers_per_key live providers for the key
  kProviderPeerQuota,   // sender peer at max_providers_per_peer
  kProviderIpQuota,     // sender IP at max_providers_per_ip
  kCount
};
const char* to_string(Refusal r);

struct KadCounters {
  // Indexed by MessageType (0..5); requests of unknown type count as
  // Refusal::kUnknownType only.
  std::array<std::atomic<std::uint64_t>, 6> requests{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Refusal::kCount)> refusals{};
  std::atomic<std::uint64_t> inbound_streams{0};
  std::atomic<std::uint64_t> responses_sent{0};
  // Routing-table snapshots built (one per change followed by an answer).
  std::atomic<std::uint64_t> snapshots_built{0};
  // Store sizes and evictions, refreshed by Kademlia::expire() and on every
  // store mutation (for /metrics, read from another thread).
  std::atomic<std::uint64_t> records{0}, record_bytes{0}, record_evictions{0};
  std::atomic<std::uint64_t> providers{0}, provider_bytes{0}, provider_evictions{0};

  void refuse(Refusal r) { refusals[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t refused(Refusal r) const {
    return refusals[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
  std::uint64_t requested(MessageType t) const {
    return requests[static_cast<std::size_t>(t)].load(std::memory_order_relaxed);
  }
};

// What to do after handle().
enum class Disposition {
  kRespond,      // send `response`
  kNoResponse,   // nothing to send (ADD_PROVIDER); keep reading
  kCloseStream,  // refused a request that expects an answer: end the stream
};

struct HandleResult {
  Disposition disposition;
  std::optional<Refusal> refusal;
};

class Kademlia {
 public:
  Kademlia(PeerId local, KadConfig config, TimePoint now);

  // --- inbound requests ---
  // Fills `response` (cleared first; reuse it across calls to avoid
  // allocation) and says whether to send it.
  // `remote_ip` is the connection's remote IP as text (host::Connection::
  // remote_ip()); the stores' per-IP quotas key on it. Empty: unknown (all
  // such requests share one IP quota).
  HandleResult handle(const PeerId& remote, const Message& request, TimePoint now,
                      Message& response, const std::string& remote_ip = {});
  // What serve_stream calls: the answer, length-prefixed as on the wire,
  // into `out` (when kRespond). FIND_NODE is written from the snapshot's
  // encoded peers without building a Message; other types go through
  // handle() with `scratch` and are serialized.
  HandleResult answer(const PeerId& remote, const Message& request, TimePoint now,
                      Message& scratch, Bytes& out, const std::string& remote_ip = {});
  // Convenience for tests and cold paths: the response, if any.
  std::optional<Message> handle(const PeerId& remote, const Message& request, TimePoint now,
                                const std::string& remote_ip = {});

  // --- routing table feed ---
  UpdateResult on_peer_identified(const PeerId& peer, std::vector<Multiaddr> listen_addrs,
                                  bool supports_kad, TimePoint now);
  void resolve_pending(const PeerId& pinged, bool alive, TimePoint now) {
    const std::uint64_t before = table_.version();
    table_.resolve_pending(pinged, alive, now);
    if (table_.version() != before) changed();
  }
  void on_peer_unreachable(const PeerId& peer) {
    if (table_.remove(peer)) changed();
  }
  // Our own listen addresses, for FIND_NODE answers about ourselves.
  void set_local_addresses(std::vector<Multiaddr> addrs) {
    if (addrs != local_addrs_) changed();
    local_addrs_ = std::move(addrs);
  }
  // The host may tell how we are connected to a peer (Peer.connection field);
  // without it every peer is sent as NOT_CONNECTED. Answers carry the
  // connectedness of the snapshot's build: the host reports changes with
  // on_connectedness_changed.
  void set_connectedness(std::function<ConnectionType(const PeerId&)> fn) {
    connectedness_ = std::move(fn);
    changed();
  }
  // A first connection to `peer` opened or its last one closed.
  void on_connectedness_changed(const PeerId& peer) {
    if (connectedness_ && table_.contains(peer)) changed();
  }

  // --- snapshots ---
  // Owner: the snapshot answers use, rebuilt and published first if the
  // table or what the answers show changed since the last one.
  const RoutingSnapshot& current_snapshot();
  // Any thread: the last published snapshot (null before the first answer
  // or publish_snapshot()).
  std::shared_ptr<const RoutingSnapshot> snapshot() const { return published_.load(); }
  // Any thread: the cell snapshot() reads, for a SnapshotReader.
  const SnapshotCell& snapshot_cell() const { return published_; }
  // Owner: rebuild and publish now if anything changed.
  void publish_snapshot() { current_snapshot(); }
  // Any thread: how many changes an answer would show the owner has made
  // (acquire: a thread that reads a count also sees those changes' snapshot
  // once published). RoutingSnapshot::changes() is the count it was built at.
  std::uint64_t changes() const { return changes_.load(std::memory_order_acquire); }
  // Any thread: a process-unique number for this instance (per-thread
  // SnapshotReaders in serve_stream tell Kademlias apart with it).
  std::uint64_t instance_id() const { return instance_id_; }

  // Any thread (counters only): counts a FIND_NODE request and refuses
  // (counted) one without a key, as answer() does.
  std::optional<HandleResult> check_find_node(const Message& request);
  // Any thread: the FIND_NODE answer for `key` from `snap` into `out`, the
  // bytes answer() writes when `snap` is current. `scratch` is reused.
  void write_find_node(const RoutingSnapshot& snap, const PeerId& remote, BytesView key,
                       std::vector<std::uint32_t>& scratch, Bytes& out) const {
    write_find_node_answer(snap, remote, key, config_.k, scratch, out);
  }

  // Called by serve_stream after each answered inbound request with its type
  // and the time from the request read whole to the answer written (the
  // node feeds mepassa_kad_request_duration_seconds with it). Set it before
  // streams are served: with NETWORK_THREADS >= 2 it is called on
  // connection threads, concurrently, so it must be safe from any thread
  // (the node's is a Histogram of atomics).
  using InboundObserver = std::function<void(MessageType type, Duration elapsed)>;
  void set_inbound_observer(InboundObserver fn) { inbound_observer_ = std::move(fn); }
  const InboundObserver& inbound_observer() const { return inbound_observer_; }

  // --- lookups ---
  // A FIND_NODE lookup for `target` seeded with our k closest peers.
  ClosestPeersQuery start_lookup(const Key& target, TimePoint now) const;
  QueryConfig query_config() const;

  // Drops expired records and providers (call e.g. hourly).
  void expire(TimePoint now);

  const PeerId& local_peer() const { return local_; }
  const KadConfig& config() const { return config_; }
  RoutingTable& routing_table() { return table_; }
  const RoutingTable& routing_table() const { return table_; }
  RecordStore& records() { return records_; }
  ProviderStore& providers() { return providers_; }
  KadCounters& counters() { return counters_; }
  const KadCounters& counters() const { return counters_; }
  AddressPolicy address_policy() const {
    return {config_.allow_private_addrs, config_.max_addrs_per_peer};
  }

 private:
  // Owner, after anything an answer would show changed: release, so a
  // thread that sees the new count (changes()) sees the change.
  void changed() {
    changes_.store(changes_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  HandleResult refuse(Refusal r, Disposition d) {
    counters_.refuse(r);
    return {d, r};
  }
  void add_closer_peers(const PeerId& remote, BytesView key, Message& response);
  ConnectionType connection_of(const PeerId& peer) const {
    return connectedness_ ? connectedness_(peer) : pb::Message_ConnectionType_NOT_CONNECTED;
  }

  HandleResult on_find_node(const PeerId& remote, const Message& req, Message& resp);
  HandleResult on_get_value(const PeerId& remote, const Message& req, TimePoint now, Message& resp);
  HandleResult on_put_value(const PeerId& remote, const Message& req, TimePoint now, Message& resp,
                            const std::string& remote_ip);
  HandleResult on_get_providers(const PeerId& remote, const Message& req, TimePoint now,
                                Message& resp);
  HandleResult on_add_provider(const PeerId& remote, const Message& req, TimePoint now,
                               const std::string& remote_ip);
  void publish_store_sizes();

  PeerId local_;
  KadConfig config_;
  RoutingTable table_;
  RecordStore records_;
  ProviderStore providers_;
  KadCounters counters_;
  std::vector<Multiaddr> local_addrs_;
  std::function<ConnectionType(const PeerId&)> connectedness_;
  InboundObserver inbound_observer_;
  std::shared_ptr<const RoutingSnapshot> snapshot_;  // the owner's, = published_
  // Bumped (only by the owner) by changed(); starts at 1 so that no
  // snapshot (built at 0 by default) is current before the first build.
  std::atomic<std::uint64_t> changes_{1};
  std::uint64_t instance_id_;
  SnapshotCell published_;
  std::vector<std::uint32_t> closest_scratch_;
  std::vector<const ProviderRecord*> provider_scratch_;
};

}  // namespace mp::kad

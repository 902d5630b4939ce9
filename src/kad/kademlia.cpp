#include "kad/kademlia.hpp"

#include "core/varint.hpp"
#include "kad/ipns_record.hpp"

namespace mp::kad {

const char* to_string(Refusal r) {
  switch (r) {
    case Refusal::kMalformed: return "malformed";
    case Refusal::kOversized: return "oversized";
    case Refusal::kUnknownType: return "unknown_type";
    case Refusal::kMissingKey: return "missing_key";
    case Refusal::kMissingRecord: return "missing_record";
    case Refusal::kKeyMismatch: return "key_mismatch";
    case Refusal::kInvalidRecord: return "invalid_record";
    case Refusal::kRecordTooLarge: return "record_too_large";
    case Refusal::kRecordStoreFull: return "record_store_full";
    case Refusal::kOlderRecord: return "older_record";
    case Refusal::kInvalidProviderKey: return "invalid_provider_key";
    case Refusal::kProviderNotSender: return "provider_not_sender";
    case Refusal::kProviderStoreFull: return "provider_store_full";
    case Refusal::kRecordPeerQuota:
      return "record_peer_quota";
    case Refusal::kRecordIpQuota:
      return "record_ip_quota";
    case Refusal::kProviderKeyFull:
      return "provider_key_full";
    case Refusal::kProviderPeerQuota:
      return "provider_peer_quota";
    case Refusal::kProviderIpQuota:
      return "provider_ip_quota";
    case Refusal::kCount: break;
  }
  return "unknown";
}

namespace {
RoutingTableConfig table_config(const KadConfig& c) {
  RoutingTableConfig t;
  t.k = c.k;
  t.policy = c.insert_policy;
  t.addresses = {c.allow_private_addrs, c.max_addrs_per_peer};
  t.diversity = c.diversity;
  return t;
}
std::uint64_t next_instance_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

Kademlia::Kademlia(PeerId local, KadConfig config, TimePoint now)
    : local_(std::move(local)),
      config_(std::move(config)),
      table_(local_, table_config(config_), now),
      records_(config_.records),
      providers_(config_.providers),
      instance_id_(next_instance_id()) {}

UpdateResult Kademlia::on_peer_identified(const PeerId& peer, std::vector<Multiaddr> listen_addrs,
                                          bool supports_kad, TimePoint now) {
  const std::uint64_t before = table_.version();
  UpdateResult r = table_.update(peer, std::move(listen_addrs), supports_kad, now);
  if (table_.version() != before) changed();
  return r;
}

QueryConfig Kademlia::query_config() const {
  QueryConfig q;
  q.alpha = config_.alpha;
  q.k = config_.k;
  q.request_timeout = config_.request_timeout;
  q.query_timeout = config_.query_timeout;
  return q;
}

ClosestPeersQuery Kademlia::start_lookup(const Key& target, TimePoint now) const {
  auto seeds = table_.closest_peers(target, config_.k);
  return ClosestPeersQuery(target, local_, seeds, query_config(), now);
}

void Kademlia::expire(TimePoint now) {
  records_.expire(now);
  providers_.expire(now);
  publish_store_sizes();
}

void Kademlia::publish_store_sizes() {
  constexpr auto relaxed = std::memory_order_relaxed;
  counters_.records.store(records_.size(), relaxed);
  counters_.record_bytes.store(records_.bytes(), relaxed);
  counters_.record_evictions.store(records_.evictions(), relaxed);
  counters_.providers.store(providers_.total(), relaxed);
  counters_.provider_bytes.store(providers_.bytes(), relaxed);
  counters_.provider_evictions.store(providers_.evictions(), relaxed);
}

std::optional<Message> Kademlia::handle(const PeerId& remote, const Message& request, TimePoint now,
                                        const std::string& remote_ip) {
  Message response;
  auto r = handle(remote, request, now, response, remote_ip);
  if (r.disposition != Disposition::kRespond) return std::nullopt;
  return response;
}

HandleResult Kademlia::handle(const PeerId& remote, const Message& request, TimePoint now,
                              Message& response, const std::string& remote_ip) {
  response.Clear();
  const int type = request.type();
  if (!is_known_type(type)) return refuse(Refusal::kUnknownType, Disposition::kCloseStream);
  counters_.requests[static_cast<std::size_t>(type)].fetch_add(1, std::memory_order_relaxed);
  switch (request.type()) {
    case pb::Message_MessageType_FIND_NODE: return on_find_node(remote, request, response);
    case pb::Message_MessageType_GET_VALUE: return on_get_value(remote, request, now, response);
    case pb::Message_MessageType_PUT_VALUE:
      return on_put_value(remote, request, now, response, remote_ip);
    case pb::Message_MessageType_GET_PROVIDERS:
      return on_get_providers(remote, request, now, response);
    case pb::Message_MessageType_ADD_PROVIDER:
      return on_add_provider(remote, request, now, remote_ip);
    case pb::Message_MessageType_PING:
      response.set_type(pb::Message_MessageType_PING);
      return {Disposition::kRespond, std::nullopt};
    default: break;
  }
  return refuse(Refusal::kUnknownType, Disposition::kCloseStream);
}

const RoutingSnapshot& Kademlia::current_snapshot() {
  // Safety net: a change made on the table directly, not through our
  // methods, is counted here (connection threads see it once published).
  if (snapshot_ && snapshot_->table_version() != table_.version()) changed();
  const std::uint64_t changes = changes_.load(std::memory_order_relaxed);
  if (!snapshot_ || snapshot_->changes() != changes) {
    snapshot_ = RoutingSnapshot::build(table_, local_addrs_, connectedness_, changes);
    published_.store(snapshot_);
    counters_.snapshots_built.fetch_add(1, std::memory_order_relaxed);
  }
  return *snapshot_;
}

std::optional<HandleResult> Kademlia::check_find_node(const Message& request) {
  counters_.requests[static_cast<std::size_t>(pb::Message_MessageType_FIND_NODE)].fetch_add(
      1, std::memory_order_relaxed);
  if (request.key().empty()) return refuse(Refusal::kMissingKey, Disposition::kCloseStream);
  return std::nullopt;
}

HandleResult Kademlia::answer(const PeerId& remote, const Message& request, TimePoint now,
                              Message& scratch, Bytes& out, const std::string& remote_ip) {
  if (request.type() == pb::Message_MessageType_FIND_NODE) {
    if (auto refused = check_find_node(request)) return *refused;
    write_find_node(current_snapshot(), remote, as_bytes(request.key()), closest_scratch_, out);
    return {Disposition::kRespond, std::nullopt};
  }
  const HandleResult r = handle(remote, request, now, scratch, remote_ip);
  if (r.disposition == Disposition::kRespond) {
    const std::size_t size = scratch.ByteSizeLong();
    out.clear();
    varint::encode(size, out);
    const std::size_t prefix = out.size();
    out.resize(prefix + size);
    scratch.SerializeWithCachedSizesToArray(out.data() + prefix);
  }
  return r;
}

void Kademlia::add_closer_peers(const PeerId& remote, BytesView key, Message& response) {
  // go betterPeersToQuery: never the requester, never ourselves (we are not
  // in our own table).
  const RoutingSnapshot& snap = current_snapshot();
  snap.closest(Key::from_bytes(key), config_.k, closest_scratch_, remote.bytes());
  for (std::uint32_t i : closest_scratch_) {
    const BytesView p = snap.peer_bytes(i);
    response.add_closerpeers()->ParseFromArray(p.data(), static_cast<int>(p.size()));
  }
}

HandleResult Kademlia::on_find_node(const PeerId& remote, const Message& req, Message& resp) {
  if (req.key().empty()) return refuse(Refusal::kMissingKey, Disposition::kCloseStream);
  resp.set_type(pb::Message_MessageType_FIND_NODE);
  const BytesView key = as_bytes(req.key());
  if (as_string(key) == as_string(local_.bytes())) {
    // go handleFindPeer: asked for ourselves, answer with ourselves.
    const BytesView self = current_snapshot().self_bytes();
    resp.add_closerpeers()->ParseFromArray(self.data(), static_cast<int>(self.size()));
  } else {
    add_closer_peers(remote, key, resp);
  }
  return {Disposition::kRespond, std::nullopt};
}

HandleResult Kademlia::on_get_value(const PeerId& remote, const Message& req, TimePoint now,
                                    Message& resp) {
  if (req.key().empty()) return refuse(Refusal::kMissingKey, Disposition::kCloseStream);
  resp.set_type(pb::Message_MessageType_GET_VALUE);
  resp.set_key(req.key());
  const BytesView key = as_bytes(req.key());
  if (const StoredRecord* rec = records_.get(key, now)) {
    // timeReceived is left empty, as rust-libp2p does: the field is "set by
    // receiver" and our clock here is monotonic, not wall time.
    auto* r = resp.mutable_record();
    r->set_key(req.key());
    r->set_value(std::string(as_string(rec->value)));
  }
  add_closer_peers(remote, key, resp);
  return {Disposition::kRespond, std::nullopt};
}

HandleResult Kademlia::on_put_value(const PeerId& remote, const Message& req, TimePoint now,
                                    Message& resp, const std::string& remote_ip) {
  if (!req.has_record()) return refuse(Refusal::kMissingRecord, Disposition::kCloseStream);
  const auto& rec = req.record();
  if (req.key().empty()) return refuse(Refusal::kMissingKey, Disposition::kCloseStream);
  if (req.key() != rec.key()) return refuse(Refusal::kKeyMismatch, Disposition::kCloseStream);
  const BytesView key = as_bytes(rec.key());
  const BytesView value = as_bytes(rec.value());
  if (key.size() > records_.limits().max_key_size ||
      value.size() > records_.limits().max_value_size) {
    return refuse(Refusal::kRecordTooLarge, Disposition::kCloseStream);
  }
  if (!validate_record(key, value, config_.validation)) {
    return refuse(Refusal::kInvalidRecord, Disposition::kCloseStream);
  }
  if (const StoredRecord* existing = records_.get(key, now)) {
    if (!should_replace(key, value, existing->value)) {
      return refuse(Refusal::kOlderRecord, Disposition::kCloseStream);
    }
  }
  const StoreOutcome outcome =
      records_.put(key, value, now, std::string(as_string(remote.bytes())), remote_ip);
  publish_store_sizes();
  switch (outcome) {
    case StoreOutcome::kStored:
    case StoreOutcome::kReplaced: break;
    case StoreOutcome::kRefusedKeySize:
    case StoreOutcome::kRefusedValueSize:
      return refuse(Refusal::kRecordTooLarge, Disposition::kCloseStream);
    case StoreOutcome::kRefusedPeerQuota:
      return refuse(Refusal::kRecordPeerQuota, Disposition::kCloseStream);
    case StoreOutcome::kRefusedIpQuota:
      return refuse(Refusal::kRecordIpQuota, Disposition::kCloseStream);
    case StoreOutcome::kRefusedFull:
      return refuse(Refusal::kRecordStoreFull, Disposition::kCloseStream);
  }
  // go handlePutValue: the response is the request, echoed.
  resp.CopyFrom(req);
  resp.mutable_record()->clear_timereceived();
  return {Disposition::kRespond, std::nullopt};
}

HandleResult Kademlia::on_get_providers(const PeerId& remote, const Message& req, TimePoint now,
                                        Message& resp) {
  const BytesView key = as_bytes(req.key());
  if (key.empty()) return refuse(Refusal::kMissingKey, Disposition::kCloseStream);
  if (key.size() > providers_.limits().max_key_size || !is_valid_multihash(key)) {
    return refuse(Refusal::kInvalidProviderKey, Disposition::kCloseStream);
  }
  resp.set_type(pb::Message_MessageType_GET_PROVIDERS);
  resp.set_key(req.key());
  providers_.get(key, now, provider_scratch_);
  for (const ProviderRecord* p : provider_scratch_) {
    // A provider that gave no usable address: fall back to what the routing
    // table knows of it (go reads its peerstore here).
    std::span<const Multiaddr> addrs = p->addrs;
    if (addrs.empty()) {
      if (const PeerEntry* e = table_.find(p->provider)) addrs = e->addrs;
    }
    set_peer(*resp.add_providerpeers(), p->provider, addrs, connection_of(p->provider));
  }
  add_closer_peers(remote, key, resp);
  return {Disposition::kRespond, std::nullopt};
}

HandleResult Kademlia::on_add_provider(const PeerId& remote, const Message& req, TimePoint now,
                                       const std::string& remote_ip) {
  const BytesView key = as_bytes(req.key());
  if (key.empty()) return refuse(Refusal::kMissingKey, Disposition::kCloseStream);
  if (key.size() > providers_.limits().max_key_size || !is_valid_multihash(key)) {
    return refuse(Refusal::kInvalidProviderKey, Disposition::kCloseStream);
  }
  std::optional<Refusal> refusal;
  bool accepted = false;
  for (const auto& p : req.providerpeers()) {
    // libp2p/specs: only providers matching the sender are recorded; a
    // record for someone else is refused (go ignores it; we count it).
    if (p.id() != as_string(remote.bytes())) {
      counters_.refuse(Refusal::kProviderNotSender);
      refusal = Refusal::kProviderNotSender;
      continue;
    }
    if (accepted) continue;  // one record per sender, however often listed
    std::vector<Multiaddr> addrs;
    for (const auto& raw : p.addrs()) {
      if (auto a = Multiaddr::from_bytes(as_bytes(raw))) addrs.push_back(std::move(a.value()));
    }
    filter_addresses(addrs, address_policy());
    const AddProviderOutcome outcome =
        providers_.add(key, remote, std::move(addrs), now, remote_ip);
    std::optional<Refusal> r;
    switch (outcome) {
      case AddProviderOutcome::kAdded:
      case AddProviderOutcome::kRefreshed: accepted = true; break;
      case AddProviderOutcome::kRefusedKeySize:
        r = Refusal::kInvalidProviderKey;
        break;
      case AddProviderOutcome::kRefusedKeyFull:
        r = Refusal::kProviderKeyFull;
        break;
      case AddProviderOutcome::kRefusedPeerQuota:
        r = Refusal::kProviderPeerQuota;
        break;
      case AddProviderOutcome::kRefusedIpQuota:
        r = Refusal::kProviderIpQuota;
        break;
      case AddProviderOutcome::kRefusedFull:
        r = Refusal::kProviderStoreFull;
        break;
    }
    if (r) {
      counters_.refuse(*r);
      refusal = r;
    }
  }
  publish_store_sizes();
  // ADD_PROVIDER has no response either way.
  return {Disposition::kNoResponse, accepted ? std::nullopt : refusal};
}

}  // namespace mp::kad

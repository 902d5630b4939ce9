#include "http/status.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace mp::http {

namespace {

std::size_t index_of(Transport t) {
  return static_cast<std::size_t>(t) < static_cast<std::size_t>(Transport::kCount)
             ? static_cast<std::size_t>(t)
             : static_cast<std::size_t>(Transport::kOther);
}

nlohmann::ordered_json counts_json(const ConnectionCounts& c) {
  nlohmann::ordered_json by = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < kTransportNames.size(); ++i) {
    by[std::string(kTransportNames[i])] = c.by_transport[i];
  }
  return {{"inbound", c.inbound}, {"outbound", c.outbound}, {"by_transport", std::move(by)}};
}

}  // namespace

std::string truncate_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  // Back off over continuation bytes (10xxxxxx) to the start of a sequence,
  // which is then cut off whole.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

void ConnectionTally::opened(bool inbound, Transport t) {
  ++(inbound ? counts_.inbound : counts_.outbound);
  ++counts_.by_transport[index_of(t)];
}

void ConnectionTally::closed(bool inbound, Transport t) {
  auto& d = inbound ? counts_.inbound : counts_.outbound;
  if (d > 0) --d;
  auto& b = counts_.by_transport[index_of(t)];
  if (b > 0) --b;
}

void ConnectionHistory::maybe_sample(std::int64_t unix_seconds, const ConnectionCounts& counts) {
  if (!samples_.empty() && unix_seconds - samples_.back().unix_seconds < interval_) return;
  samples_.push_back({unix_seconds, counts});
  while (samples_.size() > kMaxStatusSamples) samples_.pop_front();
}

void ConnectionEvents::push(Entry e) {
  entries_.push_back(std::move(e));
  while (entries_.size() > kMaxStatusEvents) entries_.pop_front();
}

namespace {

// The fields a connect and a disconnect event share, capped.
ConnectionEvent make_event(std::int64_t unix_ms, bool connected, bool inbound, Transport t,
                           std::string_view peer_id, std::string_view address) {
  ConnectionEvent ev;
  ev.unix_ms = unix_ms;
  ev.connected = connected;
  ev.inbound = inbound;
  ev.transport = t;
  ev.peer_id = truncate_utf8(peer_id, kMaxAddressBytes);
  ev.address = truncate_utf8(address, kMaxAddressBytes);
  return ev;
}

}  // namespace

void ConnectionEvents::connected(std::int64_t unix_ms, std::uint64_t connection_id, bool inbound,
                                 Transport t, std::string_view peer_id, std::string_view address) {
  push({connection_id, make_event(unix_ms, true, inbound, t, peer_id, address)});
}

void ConnectionEvents::disconnected(std::int64_t unix_ms, std::uint64_t connection_id,
                                    bool inbound, Transport t, std::string_view peer_id,
                                    std::string_view address, std::string_view agent,
                                    std::string_view reason) {
  ConnectionEvent ev = make_event(unix_ms, false, inbound, t, peer_id, address);
  ev.agent = truncate_utf8(agent, kMaxAgentBytes);
  ev.reason = truncate_utf8(reason, kMaxReasonBytes);
  push({connection_id, std::move(ev)});
}

void ConnectionEvents::set_agent(std::uint64_t connection_id, std::string_view agent) {
  // At most kMaxStatusEvents entries: a scan is cheaper than an index.
  for (auto& e : entries_) {
    if (e.connection_id == connection_id) e.event.agent = truncate_utf8(agent, kMaxAgentBytes);
  }
}

std::vector<ConnectionEvent> ConnectionEvents::events() const {
  std::vector<ConnectionEvent> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.event);
  return out;
}

std::string render_status(const StatusSnapshot& s, std::int64_t now_unix_ms,
                          std::uint64_t uptime_seconds, const std::string& version) {
  using J = nlohmann::ordered_json;
  J j;
  j["now_ms"] = now_unix_ms;
  j["version"] = version;
  j["uptime_seconds"] = uptime_seconds;

  const auto& h = s.health;
  J health;
  health["status"] = h.storage.ok ? "OK" : "DEGRADED";
  if (!h.storage.ok) health["reason"] = degraded_reason(h.storage);
  health["peer_count"] = h.peer_count;
  j["health"] = std::move(health);

  j["peer_id"] = h.peer_id;
  J addrs = J::array();
  for (std::size_t i = 0; i < h.listen_addrs.size() && i < kMaxStatusAddrs; ++i) {
    addrs.push_back(truncate_utf8(h.listen_addrs[i], 2 * kMaxAddressBytes));
  }
  j["listen_addrs"] = std::move(addrs);

  J conns = counts_json(s.connections);
  J hist = J::array();
  const std::size_t skip =
      s.history.size() > kMaxStatusSamples ? s.history.size() - kMaxStatusSamples : 0;
  for (std::size_t i = skip; i < s.history.size(); ++i) {
    const auto& sample = s.history[i];
    J row = counts_json(sample.counts);
    row["t"] = sample.unix_seconds;
    hist.push_back(std::move(row));
  }
  conns["history"] = std::move(hist);
  j["connections"] = std::move(conns);

  const auto& r = s.routing;
  J fill = J::array();
  for (const auto f : r.bucket_fill) fill.push_back(f);
  j["routing"] = {{"size", h.routing_table_size},
                  {"k", r.k},
                  {"buckets", std::move(fill)},
                  {"rejected_diversity", r.rejected_diversity},
                  {"dropped_bucket_full", r.dropped_bucket_full}};

  const auto& rl = s.relay;
  j["relay"] = {{"enabled", rl.enabled},
                {"reservations", rl.reservations},
                {"max_reservations", rl.max_reservations},
                {"circuits", rl.circuits},
                {"max_circuits", rl.max_circuits},
                {"reservations_accepted", rl.reservations_accepted},
                {"reservations_refused", rl.reservations_refused},
                {"circuits_accepted", rl.circuits_accepted},
                {"circuits_refused", rl.circuits_refused},
                {"bytes_relayed", rl.bytes_relayed}};

  const auto& a = s.autonat;
  j["autonat"] = {{"ok", a.ok},
                  {"dial_error", a.dial_error},
                  {"dial_refused", a.dial_refused},
                  {"bad_request", a.bad_request}};

  const auto& st = s.store;
  j["store"] = {{"enabled", st.enabled},
                {"rows", h.storage.total_addresses},
                {"peers", h.storage.total_peers},
                {"stale_peers", h.storage.stale_peers},
                {"queue_depth", st.queue_depth},
                {"queue_capacity", st.queue_capacity},
                {"batches_committed", st.batches_committed},
                {"last_batch_ms", st.last_batch_ms},
                {"write_failures", st.write_failures},
                {"queue_full_refusals", st.queue_full_refusals}};

  J events = J::array();
  const std::size_t first =
      s.events.size() > kMaxStatusEvents ? s.events.size() - kMaxStatusEvents : 0;
  for (std::size_t i = first; i < s.events.size(); ++i) {
    const auto& e = s.events[i];
    J ev;
    ev["t_ms"] = e.unix_ms;
    ev["kind"] = e.connected ? "connect" : "disconnect";
    ev["direction"] = e.inbound ? "inbound" : "outbound";
    ev["transport"] = kTransportNames[index_of(e.transport)];
    ev["peer_id"] = truncate_utf8(e.peer_id, kMaxAddressBytes);
    ev["address"] = truncate_utf8(e.address, kMaxAddressBytes);
    ev["agent"] = truncate_utf8(e.agent, kMaxAgentBytes);
    if (!e.connected) ev["reason"] = truncate_utf8(e.reason, kMaxReasonBytes);
    events.push_back(std::move(ev));
  }
  j["events"] = std::move(events);
  // Invalid UTF-8 from a peer becomes U+FFFD rather than an exception.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mp::http

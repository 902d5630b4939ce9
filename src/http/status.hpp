// The live status page's data: what the network thread publishes once a
// second (StatusSnapshot), the bounded rings it keeps between publications
// (ConnectionHistory, ConnectionEvents), and the pure function that turns a
// snapshot into the JSON of GET /api/status.
//
// Threading: the rings live on the network thread; StatusState::publish
// hands an immutable snapshot to the HTTP thread, which only copies a
// shared_ptr. Nothing here touches network objects.
//
// Bounds: every string a peer supplies (agent string, address) is cut to a
// fixed length at recording time, events and samples are rings of fixed
// size, and render_status applies the same caps again, so /api/status has a
// size bound whatever the peers send.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "http/health.hpp"

namespace mp::http {

// Transports a connection can use, as shown on the page. The host speaks
// TCP only today; the address family is what differs.
enum class Transport : std::size_t { kTcp4, kTcp6, kOther, kCount };
inline constexpr std::array<std::string_view, static_cast<std::size_t>(Transport::kCount)>
    kTransportNames = {"tcp/ip4", "tcp/ip6", "other"};

// Caps on what the page shows (and the network thread keeps).
inline constexpr std::size_t kMaxStatusEvents = 50;
inline constexpr std::size_t kMaxStatusSamples = 120;  // one per 30 s: an hour
inline constexpr std::size_t kMaxStatusAddrs = 16;
inline constexpr std::size_t kMaxAgentBytes = 128;
inline constexpr std::size_t kMaxAddressBytes = 128;
inline constexpr std::size_t kMaxReasonBytes = 128;

// `s` cut to at most `max` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view s, std::size_t max);

struct ConnectionCounts {
  std::uint64_t inbound = 0;
  std::uint64_t outbound = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(Transport::kCount)> by_transport{};
};

struct ConnectionSample {
  std::int64_t unix_seconds = 0;
  ConnectionCounts counts;
};

struct ConnectionEvent {
  std::int64_t unix_ms = 0;
  bool connected = true;  // false: disconnected
  bool inbound = true;
  Transport transport = Transport::kOther;
  std::string peer_id;
  std::string address;  // remote address as seen on the socket
  std::string agent;    // identify agent string, once known
  std::string reason;   // why it closed (disconnect only)
};

// Open connections by direction and transport, kept current by the
// connection events.
class ConnectionTally {
 public:
  void opened(bool inbound, Transport t);
  void closed(bool inbound, Transport t);
  const ConnectionCounts& counts() const { return counts_; }

 private:
  ConnectionCounts counts_;
};

// One sample per `interval` for the last kMaxStatusSamples intervals.
class ConnectionHistory {
 public:
  explicit ConnectionHistory(std::int64_t interval_seconds = 30) : interval_(interval_seconds) {}
  // Records `counts` if the last sample is at least one interval old.
  void maybe_sample(std::int64_t unix_seconds, const ConnectionCounts& counts);
  const std::deque<ConnectionSample>& samples() const { return samples_; }

 private:
  std::int64_t interval_;
  std::deque<ConnectionSample> samples_;
};

// The most recent connection events, newest last. An agent string arrives
// with identify, after the connect event: set_agent fills it in.
class ConnectionEvents {
 public:
  void connected(std::int64_t unix_ms, std::uint64_t connection_id, bool inbound, Transport t,
                 std::string_view peer_id, std::string_view address);
  void disconnected(std::int64_t unix_ms, std::uint64_t connection_id, bool inbound, Transport t,
                    std::string_view peer_id, std::string_view address, std::string_view agent,
                    std::string_view reason);
  void set_agent(std::uint64_t connection_id, std::string_view agent);
  std::vector<ConnectionEvent> events() const;

 private:
  struct Entry {
    std::uint64_t connection_id;
    ConnectionEvent event;
  };
  void push(Entry e);
  std::deque<Entry> entries_;
};

struct RoutingStatus {
  std::uint64_t size = 0;
  std::uint64_t k = 20;
  std::array<std::uint8_t, 256> bucket_fill{};  // entries per bucket (0..k)
  std::uint64_t rejected_diversity = 0;
  std::uint64_t dropped_bucket_full = 0;
};

struct RelayStatus {
  bool enabled = false;
  std::int64_t reservations = 0, max_reservations = 0;
  std::int64_t circuits = 0, max_circuits = 0;
  std::uint64_t reservations_accepted = 0, reservations_refused = 0;
  std::uint64_t circuits_accepted = 0, circuits_refused = 0;
  std::uint64_t bytes_relayed = 0;
};

struct AutonatStatus {
  std::uint64_t ok = 0, dial_error = 0, dial_refused = 0, bad_request = 0;
};

struct StoreStatus {
  bool enabled = false;
  std::uint64_t rows = 0, peers = 0, stale_peers = 0;
  std::uint64_t queue_depth = 0, queue_capacity = 0;
  std::uint64_t batches_committed = 0, last_batch_ms = 0;
  std::uint64_t write_failures = 0, queue_full_refusals = 0;
};

struct StatusSnapshot {
  HealthSnapshot health;  // the same values /health reports
  ConnectionCounts connections;
  std::vector<ConnectionSample> history;
  RoutingStatus routing;
  RelayStatus relay;
  AutonatStatus autonat;
  StoreStatus store;
  std::vector<ConnectionEvent> events;  // newest last
};

// Pure: the JSON of /api/status. Strings are carried as they are (the page
// escapes them); lists and strings are cut to the caps above.
std::string render_status(const StatusSnapshot& s, std::int64_t now_unix_ms,
                          std::uint64_t uptime_seconds, const std::string& version);

// What the HTTP thread calls on every /api/status request (published data
// only, like HealthSource).
using StatusSource = std::function<std::shared_ptr<const StatusSnapshot>()>;

// Latest snapshot, shared with the HTTP thread.
class StatusState {
 public:
  void publish(StatusSnapshot snapshot) {
    auto p = std::make_shared<const StatusSnapshot>(std::move(snapshot));
    std::lock_guard lock(mu_);
    current_ = std::move(p);
  }
  std::shared_ptr<const StatusSnapshot> read() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  StatusSource source() const {
    return [this] { return read(); };
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const StatusSnapshot> current_ = std::make_shared<const StatusSnapshot>();
};

}  // namespace mp::http

// HostStats: counters the host keeps for /metrics. Written on the network
// thread, read from the HTTP thread: plain relaxed atomics, no locks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "host/limits.hpp"
#include "host/resource_budget.hpp"

namespace mp::host {

// Why a connection failed before it was established
// (mepassa_handshake_failures_total{reason}). kLimit: the handshakes
// completed but a connection limit refused the connection (also counted on
// connections_refused by the limit).
enum class HandshakeFailure : std::size_t {
  kTimeout,
  kMultistream,
  kNoise,
  kPeerIdMismatch,
  kYamux,
  kLimit,
  kIo,
  kTls,  // QUIC: the TLS 1.3 handshake failed (bad certificate, no ALPN, ...)
  kCount
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(HandshakeFailure::kCount)>
    kHandshakeFailureNames = {"timeout", "multistream", "noise", "peer_id_mismatch",
                              "yamux",   "limit",       "io",   "tls"};

// Why a resource was refused (mepassa_resource_refusals_total{scope,reason}).
// Memory refusals are counted by the ResourceBudget itself.
enum class RefusalReason : std::size_t {
  kMemory,
  kHandshakes,
  kHandshakeEvicted,
  kIdentifyPush,
  kDeadline,
  kCount
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(RefusalReason::kCount)>
    kRefusalReasonNames = {"memory", "handshakes", "handshake_evicted", "identify_push_rate",
                           "deadline"};

// Why an inbound stream was refused (mepassa_streams_refused_total{reason}).
enum class StreamRefusal : std::size_t { kMaxStreams, kProtocol, kCount };
inline constexpr std::array<std::string_view, static_cast<std::size_t>(StreamRefusal::kCount)>
    kStreamRefusalNames = {"max_streams", "protocol"};

// Counters by transport (tcp, quic) and direction (inbound, outbound): the
// labels of mepassa_connections_{opened,closed}_total and _current.
using ByTransportAndDirection =
    std::array<std::array<std::atomic<std::uint64_t>, 2>, static_cast<std::size_t>(Transport::kCount)>;

struct HostStats {
  std::atomic<std::uint64_t> connections_current{0};
  ByTransportAndDirection opened{};
  ByTransportAndDirection closed{};
  // Inbound connections refused by a ConnectionLimits limit, by which one:
  // at accept (total, per IP: the socket is closed at once) or after the
  // handshakes (total, per IP, per peer).
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(LimitRefusal::kCount)>
      connections_refused{};  // all transports
  // The same by transport (tcp, quic): mepassa_connections_refused_total{reason,transport}.
  std::array<std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(LimitRefusal::kCount)>,
             static_cast<std::size_t>(Transport::kCount)>
      connections_refused_by_transport{};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> streams_inbound{0};
  // Inbound streams refused: over the Yamux stream limit of a connection
  // (RST at SYN) or with no protocol in common (every proposal answered "na").
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(StreamRefusal::kCount)>
      streams_refused{};
  std::atomic<std::uint64_t> pings_sent{0};
  std::atomic<std::uint64_t> pings_failed{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(HandshakeFailure::kCount)>
      handshake_failures{};  // all transports
  std::array<std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(HandshakeFailure::kCount)>,
             static_cast<std::size_t>(Transport::kCount)>
      handshake_failures_by_transport{};

  std::array<
      std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(RefusalReason::kCount)>,
      static_cast<std::size_t>(Scope::kCount)>
      refusals{};

  void refuse(Scope s, RefusalReason r) {
    refusals[static_cast<std::size_t>(s)][static_cast<std::size_t>(r)].fetch_add(
        1, std::memory_order_relaxed);
  }
  void count(HandshakeFailure f, Transport t) {
    handshake_failures[static_cast<std::size_t>(f)].fetch_add(1, std::memory_order_relaxed);
    handshake_failures_by_transport[static_cast<std::size_t>(t)][static_cast<std::size_t>(f)]
        .fetch_add(1, std::memory_order_relaxed);
  }
  void count_opened(Transport t, bool inbound) {
    opened[static_cast<std::size_t>(t)][inbound ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
  }
  void count_closed(Transport t, bool inbound) {
    closed[static_cast<std::size_t>(t)][inbound ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
  }
  void count(LimitRefusal r, Transport t) {
    connections_refused[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    connections_refused_by_transport[static_cast<std::size_t>(t)][static_cast<std::size_t>(r)]
        .fetch_add(1, std::memory_order_relaxed);
  }
  void count(StreamRefusal r, std::uint64_t n = 1) {
    streams_refused[static_cast<std::size_t>(r)].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t get(HandshakeFailure f) const {
    return handshake_failures[static_cast<std::size_t>(f)].load(std::memory_order_relaxed);
  }
  std::uint64_t get(LimitRefusal r) const {
    return connections_refused[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
  std::uint64_t get(LimitRefusal r, Transport t) const {
    return connections_refused_by_transport[static_cast<std::size_t>(t)][static_cast<std::size_t>(r)].load(
        std::memory_order_relaxed);
  }
  std::uint64_t get(StreamRefusal r) const {
    return streams_refused[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
};

}  // namespace mp::host

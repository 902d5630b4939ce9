// HostStats: counters the host keeps for /metrics. Written on the network
// thread, read from the HTTP thread: plain relaxed atomics, no locks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace mp::host {

enum class HandshakeFailure : std::size_t {
  kTimeout, kMultistream, kNoise, kPeerIdMismatch, kYamux, kLimit, kIo, kCount
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(HandshakeFailure::kCount)>
    kHandshakeFailureNames = {"timeout", "multistream", "noise", "peer_id_mismatch",
                              "yamux", "limit", "io"};

struct HostStats {
  std::atomic<std::uint64_t> connections_current{0};
  std::atomic<std::uint64_t> opened_inbound{0};
  std::atomic<std::uint64_t> opened_outbound{0};
  std::atomic<std::uint64_t> closed_inbound{0};
  std::atomic<std::uint64_t> closed_outbound{0};
  std::atomic<std::uint64_t> refused_inbound{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> streams_inbound{0};
  std::atomic<std::uint64_t> streams_refused{0};
  std::atomic<std::uint64_t> pings_sent{0};
  std::atomic<std::uint64_t> pings_failed{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(HandshakeFailure::kCount)>
      handshake_failures{};

  void count(HandshakeFailure f) {
    handshake_failures[static_cast<std::size_t>(f)].fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace mp::host

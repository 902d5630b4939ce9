// ConnectionLimits: admission rules for new connections (total, per remote
// IP, per peer). Pure bookkeeping, no I/O: the host asks before accepting and
// reports what it opened and closed.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/peer_id.hpp"

namespace mp::host {

// Which transport a connection or handshake came over (the `transport`
// label of the connection metrics; the owner of a HandshakeTable entry).
enum class Transport : std::size_t { kTcp, kQuic, kCount };
inline constexpr std::array<std::string_view, static_cast<std::size_t>(Transport::kCount)>
    kTransportNames = {"tcp", "quic"};

struct Limits {
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 64;
  std::size_t max_connections_per_peer = 8;
  std::size_t max_streams_per_connection = 256;
};

// Which limit refused a connection (mepassa_connections_refused_total{reason}).
enum class LimitRefusal : std::size_t { kMaxConnections, kMaxPerIp, kMaxPerPeer, kCount };
inline constexpr std::array<std::string_view, static_cast<std::size_t>(LimitRefusal::kCount)>
    kLimitRefusalNames = {"max_connections", "max_per_ip", "max_per_peer"};

class ConnectionLimits {
 public:
  explicit ConnectionLimits(Limits limits) : limits_(limits) {}

  // Before the handshake: may a socket from `ip` be taken?
  // Returns nothing if yes, else the limit that refuses it (kMaxConnections
  // or kMaxPerIp).
  std::optional<LimitRefusal> admit_socket(const std::string& ip) const;
  void socket_opened(const std::string& ip);
  void socket_closed(const std::string& ip);

  // After the handshake: may one more connection to `peer` exist?
  bool admit_peer(const PeerId& peer) const;
  void peer_opened(const PeerId& peer);
  void peer_closed(const PeerId& peer);

  std::size_t sockets() const { return sockets_; }
  std::size_t connections_to(const PeerId& peer) const;
  const Limits& limits() const { return limits_; }

 private:
  Limits limits_;
  std::size_t sockets_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<PeerId, std::size_t> per_peer_;
};

}  // namespace mp::host

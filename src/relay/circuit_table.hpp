// CircuitTable: counts the relayed connections in progress, so CONNECT can
// be refused with RESOURCE_LIMIT_EXCEEDED (libp2p/specs relay/circuit-v2.md
// "Connection Initiation") when there are too many in total, from the
// initiator (peer, IP or network), or to the target. Pure state; the hop glue holds a
// Circuit ticket for as long as the bytes flow and gives it back with close().
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "core/peer_id.hpp"
#include "relay/limits.hpp"
#include "relay/protocol.hpp"

namespace mp::relay {

class CircuitTable {
 public:
  struct Circuit {
    PeerId src;
    std::string src_ip;
    PeerId dst;
  };

  explicit CircuitTable(const RelayLimits& limits) : limits_(limits) {}

  // OK (and counted) or RESOURCE_LIMIT_EXCEEDED (nothing changes); `hit`,
  // when given, says which limit refused it.
  Status open(const Circuit& c, LimitHit* hit = nullptr);
  void close(const Circuit& c);

  std::size_t size() const { return total_; }
  std::size_t count_for_peer(const PeerId& p) const;  // as initiator or target

 private:
  RelayLimits limits_;
  std::size_t total_ = 0;
  std::unordered_map<PeerId, std::size_t> per_peer_;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<std::string, std::size_t> per_subnet_;
};

}  // namespace mp::relay

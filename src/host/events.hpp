// Host events: the small internal API through which storage, Kademlia and
// metrics learn what happens on the network. Delivered synchronously on the
// network thread, in order; subscribers must not block (hand disk work to
// their own thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "identify/info.hpp"

namespace mp::host {

enum class Direction { kInbound, kOutbound };
inline const char* to_string(Direction d) { return d == Direction::kInbound ? "inbound" : "outbound"; }

struct ConnectionEstablished {
  std::uint64_t connection_id;
  PeerId peer;
  Direction direction;
  Multiaddr remote_addr;      // as seen on the socket (ephemeral port when inbound)
  std::size_t connections_to_peer;  // including this one
};

struct ConnectionClosed {
  std::uint64_t connection_id;
  PeerId peer;
  Direction direction;
  std::string reason;
  std::size_t remaining_to_peer;
};

struct IdentifyReceived {
  std::uint64_t connection_id;
  PeerId peer;
  identify::Info info;
};

struct PingRtt {
  PeerId peer;
  std::chrono::microseconds rtt;
};

struct DialFailed {
  std::optional<PeerId> peer;
  Multiaddr addr;
  std::string reason;
};

using Event = std::variant<ConnectionEstablished, ConnectionClosed, IdentifyReceived, PingRtt, DialFailed>;

class EventBus {
 public:
  using Subscriber = std::function<void(const Event&)>;
  void subscribe(Subscriber s) { subscribers_.push_back(std::move(s)); }
  void publish(const Event& e) const {
    for (const auto& s : subscribers_) s(e);
  }

 private:
  std::vector<Subscriber> subscribers_;
};

}  // namespace mp::host

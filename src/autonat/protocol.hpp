// AutoNAT v1 server logic (libp2p/specs autonat/autonat-v1.md), without I/O:
// decoding a DIAL request, deciding which of the requester's addresses we
// may dial back, and encoding the DIAL_RESPONSE.
//
// The spec's safety rule: never dial an address that is not on the IP the
// requester is observed as (so we cannot be used to attack a third party),
// and never serve requests arriving over relayed connections.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "autonat.pb.h"
#include "core/bytes.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"

namespace mp::autonat {

inline constexpr std::string_view kProtocol = "/libp2p/autonat/1.0.0";
inline constexpr std::size_t kMaxMessageSize = 8 * 1024;
// Addresses dialled per request at most (go-libp2p dials at most a handful).
inline constexpr std::size_t kMaxDialAddrs = 4;

using ResponseStatus = pb::Message::ResponseStatus;

struct DialRequestContext {
  PeerId requester;               // the peer on the connection
  std::string observed_ip;        // its socket IP
  bool relayed = false;           // request arrived over a relayed connection
  bool allow_private = false;     // ALLOW_PRIVATE_ADDRS: may dial loopback/LAN IPs
  bool can_dial_quic = false;     // we listen on QUIC: /udp/N/quic-v1 is dialled back too
};

// What to answer at once (refusals), or the addresses to try.
struct Refuse {
  ResponseStatus status;
  std::string text;
};
using DialPlan = std::variant<Refuse, std::vector<Multiaddr>>;

// The plain TCP address we would dial for a requested one:
// /ip4|ip6/X/tcp/N (and /p2p/ID after it, dropped); nullopt for anything else
// (relays, DNS, other transports, port 0).
std::optional<Multiaddr> plain_tcp(const Multiaddr& requested);

// The address we would dial back for a requested one, and its IP: plain TCP,
// or /ip4|ip6/X/udp/N/quic-v1 when `quic` (we listen on QUIC); /p2p/ dropped.
// nullopt for anything else (relays, DNS, webtransport, port 0). v1 and v2
// choose with it.
std::optional<std::pair<Multiaddr, std::string>> dialable(const Multiaddr& requested, bool quic);

// nullopt: not a well-formed Message.
std::optional<pb::Message> decode(BytesView bytes);
Bytes encode(const pb::Message& m);
pb::Message dial_response(ResponseStatus status, const std::string& text, const Multiaddr* addr = nullptr);
const char* status_name(ResponseStatus s);

// Checks the request and picks the addresses to dial: /ip4|ip6/<observed ip>/tcp/<port>
// and, with ctx.can_dial_quic, /ip4|ip6/<observed ip>/udp/<port>/quic-v1, in the
// requester's order (no relays, no other IPs, no DNS), deduplicated, at most
// kMaxDialAddrs.
DialPlan plan_dial(const pb::Message& request, const DialRequestContext& ctx);

}  // namespace mp::autonat

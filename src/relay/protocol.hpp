// Circuit Relay v2 wire codec (libp2p/specs relay/circuit-v2.md): protocol
// ids, the varint-length-prefixed HopMessage / StopMessage, and builders for
// the answers the relay sends. Bytes <-> messages, nothing else.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "circuit.pb.h"
#include "core/bytes.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"

namespace mp::relay {

inline constexpr std::string_view kHopProtocol = "/libp2p/circuit/relay/0.2.0/hop";
inline constexpr std::string_view kStopProtocol = "/libp2p/circuit/relay/0.2.0/stop";
// go-libp2p and js-libp2p cap relay messages at 4 KiB; ours are far smaller.
inline constexpr std::size_t kMaxMessageSize = 4096;

using Status = pb::Status;

// The spec's name of a status ("RESERVATION_REFUSED"), for logs and metrics.
const char* status_name(Status s);

// Limits applied to one relayed connection (the spec's Limit). Zero means
// "no limit" on the wire, as the spec says.
struct CircuitLimit {
  std::chrono::seconds duration{0};
  std::uint64_t data = 0;  // bytes per direction
};

// nullopt when the bytes are not a complete message (missing required
// fields, bad wire format, unknown type): the caller answers MALFORMED_MESSAGE.
std::optional<pb::HopMessage> decode_hop(BytesView bytes);
std::optional<pb::StopMessage> decode_stop(BytesView bytes);
Bytes encode(const pb::HopMessage& m);
Bytes encode(const pb::StopMessage& m);

// HopMessage{STATUS, status}: every refusal.
pb::HopMessage hop_status(Status s);
// HopMessage{STATUS, OK, reservation{expire, addrs, voucher}, limit}.
pb::HopMessage hop_reservation_ok(std::uint64_t expire_unix, const std::vector<Multiaddr>& addrs,
                                  BytesView voucher, const CircuitLimit& limit);
// HopMessage{STATUS, OK, limit}: the CONNECT answer.
pb::HopMessage hop_connect_ok(const CircuitLimit& limit);
// StopMessage{CONNECT, peer{initiator}, limit}: what the relay asks the target.
pb::StopMessage stop_connect(const PeerId& initiator, const CircuitLimit& limit);

}  // namespace mp::relay

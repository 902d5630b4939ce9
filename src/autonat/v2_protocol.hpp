// AutoNAT v2 server logic (libp2p/specs autonat/autonat-v2.md), without I/O:
// the codec, choosing the one address of a DialRequest we will dial, and
// counting the dial data a client owes before we dial an IP other than the
// one we observe it on (the amplification defence).
//
// What we dial: the first address of the request that is plain TCP, or QUIC
// v1 when we listen on QUIC, of an IP family we can reach, and public unless
// ALLOW_PRIVATE_ADDRS. Never any other address of the list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "autonat_v2.pb.h"
#include "core/bytes.hpp"
#include "core/multiaddr.hpp"

namespace mp::autonat::v2 {

inline constexpr std::string_view kDialRequestProtocol = "/libp2p/autonat/2/dial-request";
inline constexpr std::string_view kDialBackProtocol = "/libp2p/autonat/2/dial-back";
// Every message on both streams (js-libp2p and go-libp2p use 8 KiB too); a
// DialDataResponse carries at most 4096 bytes of data by the spec.
inline constexpr std::size_t kMaxMessageSize = 8 * 1024;
// The spec: servers SHOULD ask for 30k to 100k bytes before dialing another IP.
inline constexpr std::uint64_t kMinDialData = 30'000;
inline constexpr std::uint64_t kMaxDialData = 100'000;

using ResponseStatus = pb::DialResponse::ResponseStatus;
using DialStatus = pb::DialStatus;

struct RequestContext {
  std::string observed_ip;     // the requester's socket IP
  bool relayed = false;        // request arrived over a relayed connection
  bool allow_private = false;  // ALLOW_PRIVATE_ADDRS
  bool can_dial_ip4 = true;    // we have IPv4 / IPv6 connectivity (the spec:
  bool can_dial_ip6 = true;    // refuse the family we cannot reach)
  bool can_dial_quic = false;  // we listen on QUIC: /udp/N/quic-v1 is dialed too
};

// The address we will dial, and whether the client must send dial data first.
struct Selected {
  std::uint32_t index = 0;  // into DialRequest.addrs
  Multiaddr addr;           // plain /ip4|ip6/X/tcp/N or /ip4|ip6/X/udp/N/quic-v1
  bool needs_dial_data = false;
};
struct Rejected {
  ResponseStatus status;  // E_DIAL_REFUSED or E_REQUEST_REJECTED
  std::string text;       // for the log
};
using Selection = std::variant<Rejected, Selected>;

// nullopt: not a well-formed message.
std::optional<pb::Message> decode(BytesView bytes);
std::optional<pb::DialBackResponse> decode_dial_back_response(BytesView bytes);
Bytes encode(const google::protobuf::MessageLite& m);

pb::Message dial_response(ResponseStatus status, std::uint32_t index = 0, DialStatus dial = pb::UNUSED);
pb::Message dial_data_request(std::uint32_t index, std::uint64_t num_bytes);
pb::DialBack dial_back(std::uint64_t nonce);
const char* response_status_name(ResponseStatus s);
const char* dial_status_name(DialStatus s);

Selection select_address(const pb::DialRequest& request, const RequestContext& ctx);

// How much dial data a client has sent against what we asked for. Only the
// `data` fields count (the spec); the last message may overshoot.
class DialDataCount {
 public:
  explicit DialDataCount(std::uint64_t wanted) : wanted_(wanted) {}
  // Counts one message; false if it is not a DialDataResponse (a protocol
  // violation: the caller resets the stream).
  bool add(const pb::Message& m);
  bool complete() const { return received_ >= wanted_; }
  std::uint64_t received() const { return received_; }

 private:
  std::uint64_t wanted_;
  std::uint64_t received_ = 0;
};

}  // namespace mp::autonat::v2

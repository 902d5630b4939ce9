// Datagram routing for the QUIC transport, without I/O: reading the header
// fields a server routes by (RFC 9000 section 17: version and connection IDs,
// which are not encrypted), and the table from connection ID to connection.
// A datagram whose Destination Connection ID is known goes to that
// connection; an unknown one may only open a connection if it is a long
// header packet (then ngtcp2_accept checks it is a well-formed Initial);
// everything else is dropped and counted by DropReason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/bytes.hpp"

namespace mp::quic {

// Length of the connection IDs we issue: short header packets carry no
// length, so every ID we hand out has this one.
inline constexpr std::size_t kCidLength = 16;

// Why a datagram was dropped (mepassa_quic_datagrams_dropped_total{reason}).
enum class DropReason : std::size_t {
  kMalformed,          // no parsable QUIC header
  kUnknownConnection,  // short header for no connection of ours
  kNotInitial,         // long header for no connection, and not a valid Initial
  kVersion,            // a long header of a version other than QUIC v1, too small to be
                       // answered with Version Negotiation (or a Version Negotiation)
  kHandshakes,         // over the handshakes-in-progress cap (total or per IP)
  kLimit,              // over MAX_CONNECTIONS / MAX_CONNECTIONS_PER_IP
  kToken,              // an Initial whose Retry token is forged, expired or another address's
  kVersionRate,        // another version, answered with Version Negotiation too often already
  kBacklog,            // for a connection on another network thread that has its share
                       // of kMaxHandedOver handed over and unread (a new one: all have)
  kCount
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(DropReason::kCount)>
    kDropReasonNames = {"malformed", "unknown_connection", "not_initial",
                        "version",   "handshakes",         "limit",
                        "token",     "version_rate",       "backlog"};

struct DatagramHeader {
  bool long_header = false;
  std::uint32_t version = 0;  // 0 for short headers
  std::string dcid;
  std::string scid;  // empty for short headers
};

// The routing fields of the first packet of `datagram`, or nullopt when it
// is not a QUIC packet (too short, connection ID over 20 bytes, ...).
std::optional<DatagramHeader> parse_header(BytesView datagram);

// Connection ID -> connection handle. A connection has several IDs (the
// client's original one, each one we issue); each maps to its handle.
class CidRouter {
 public:
  // An ID already routed elsewhere is not taken over (false).
  bool add(const std::string& cid, std::uint64_t handle);
  void remove(const std::string& cid);
  std::optional<std::uint64_t> find(const std::string& cid) const {
    auto it = map_.find(cid);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  // Removes every ID of `handle` (when the connection ends), without a scan.
  void remove_all(std::uint64_t handle);
  std::size_t size() const { return map_.size(); }

 private:
  std::unordered_map<std::string, std::uint64_t> map_;
  std::unordered_map<std::uint64_t, std::vector<std::string>> by_handle_;
};

}  // namespace mp::quic

// Validation of IPNS records stored under /ipns/<peer id> (specs.ipfs.tech
// ipns/ipns-record "Record Verification", as go/boxo ipns.Validator does):
//  - the serialized record is at most 10 KiB;
//  - signatureV2 and data (DAG-CBOR) are present (V1-only records are
//    refused, as current go and js do);
//  - the public key is the pubKey field, or else the one inlined in the
//    name (identity-multihash Peer IDs); it must hash to the name;
//  - signatureV2 verifies over "ipns-signature:" || data;
//  - data is a CBOR map whose Value / Sequence match the V1 fields when
//    those are present.
// Not checked: the EOL (Validity) against the wall clock - the handler has
// no wall clock; a stored record expires anyway after 36 h.
#pragma once

#include <cstdint>
#include <optional>

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace mp::kad {

inline constexpr std::size_t kMaxIpnsRecordSize = 10 * 1024;

struct IpnsRecordInfo {
  std::uint64_t sequence = 0;
  Bytes value;     // the content path
  Bytes validity;  // RFC 3339 EOL text
};

// `name`: the Peer ID multihash bytes after "/ipns/".
Result<IpnsRecordInfo> validate_ipns_record(BytesView name, BytesView record);
// Sequence number from the CBOR data (nullopt if unparsable). For Select.
std::optional<std::uint64_t> parse_ipns_sequence(BytesView record);

}  // namespace mp::kad

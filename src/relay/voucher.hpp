// Reservation vouchers (libp2p/specs relay/circuit-v2.md "Reservation
// Vouchers"): a signed envelope, signed by the relay, saying that it will
// relay to `peer` until `expiration` (Unix seconds). Advisory for now: no
// implementation requires one to dial, but go-libp2p refuses a reservation
// whose voucher does not open.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/bytes.hpp"
#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"

namespace mp::relay {

inline constexpr std::string_view kVoucherDomain = "libp2p-relay-rsvp";
// The multicodec libp2p-relay-rsvp is 0x0302. go-libp2p, js-libp2p and
// nim-libp2p all write it as the two bytes 0x03 0x02 (not as a varint,
// 0x82 0x06), and verifiers compare bytes, so we write what they write.
inline constexpr std::uint8_t kVoucherPayloadType[] = {0x03, 0x02};

struct Voucher {
  PeerId relay;
  PeerId peer;
  std::uint64_t expiration = 0;  // Unix seconds, UTC
};

// The canonical protobuf payload (fields in id order).
Bytes encode_voucher_payload(const Voucher& v);
// The complete signed envelope, as sent in Reservation.voucher.
Bytes sign_voucher(const Ed25519KeyPair& relay_key, const Voucher& v);
// Opens an envelope and checks domain, payload type, and that the signer is
// the relay named inside.
Result<Voucher> open_voucher(BytesView envelope);

}  // namespace mp::relay

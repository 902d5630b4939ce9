// SHA-256 (OpenSSL), the one hash the core types need: Peer IDs of long
// keys, secp256k1/ECDSA/RSA message digests, and PEER_ID_SEED derivation.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>

#include "core/bytes.hpp"

namespace mp {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(BytesView data);
// The hash of the parts one after the other (Noise's HMAC and mixing).
Sha256Digest sha256(std::initializer_list<BytesView> parts);

}  // namespace mp

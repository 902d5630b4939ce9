// Signed envelopes (libp2p/specs RFC/0002-signed-envelopes.md): a payload,
// its type hint and the signer's public key, with a signature over
//   varint(len(domain)) || domain || varint(len(type)) || type || varint(len(payload)) || payload.
// The domain is not in the envelope: signer and verifier each supply it, so a
// signature made for one purpose is never valid for another.
//
// Callers may rely on: open() never throwing; it fails unless the envelope
// parses, the key decodes, and the signature verifies for `domain`.
#pragma once

#include <string_view>

#include "core/bytes.hpp"
#include "core/keys.hpp"
#include "core/result.hpp"

namespace mp::relay {

struct Envelope {
  PublicKey public_key;
  Bytes payload_type;
  Bytes payload;
  Bytes signature;
};

// The bytes that are signed (exposed for tests).
Bytes envelope_signing_input(std::string_view domain, BytesView payload_type, BytesView payload);

// Signs and encodes an envelope with our identity key.
Bytes seal_envelope(const Ed25519KeyPair& key, std::string_view domain, BytesView payload_type,
                    BytesView payload);

// Decodes `encoded` and checks its signature for `domain`.
Result<Envelope> open_envelope(BytesView encoded, std::string_view domain);

}  // namespace mp::relay

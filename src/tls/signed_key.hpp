// The libp2p Public Key Extension's value (libp2p/specs tls/tls.md):
//   SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }
// publicKey is the host key's protobuf PublicKey encoding; signature is the
// host key's signature over "libp2p-tls-handshake:" || the certificate's
// SubjectPublicKeyInfo DER. Pure codec.
#pragma once

#include <optional>
#include <string_view>

#include "core/bytes.hpp"

namespace mp::tls {

// The extension's OID, 1.3.6.1.4.1.53594.1.1 (IANA PEN of Protocol Labs).
inline constexpr const char* kExtensionOid = "1.3.6.1.4.1.53594.1.1";
inline constexpr std::string_view kSignaturePrefix = "libp2p-tls-handshake:";

struct SignedKey {
  Bytes public_key;  // protobuf PublicKey
  Bytes signature;
};

Bytes encode_signed_key(const SignedKey& key);
// Exactly one SEQUENCE of two OCTET STRINGs, nothing else; nullopt otherwise.
std::optional<SignedKey> decode_signed_key(BytesView der);
// What the host key signs: kSignaturePrefix || spki.
Bytes signed_key_message(BytesView spki);

}  // namespace mp::tls

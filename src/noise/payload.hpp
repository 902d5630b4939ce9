// The libp2p handshake payload (libp2p/specs noise/README.md "The libp2p
// Handshake Payload"): our signed payload, built once per process, and the
// checks applied to the remote's payload.
//
// LocalIdentity holds our Noise static X25519 key pair and the encoded
// NoiseHandshakePayload signing it. The spec allows one static key for all
// sessions, so the Ed25519 signature is computed once, not per connection.
// It is immutable after construction and may be shared by every connection
// (and thread) of the process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"
#include "noise/crypto.hpp"

namespace mp::noise {

// libp2p/specs noise/README.md: the identity key signs this prefix followed by
// the static Noise public key.
inline constexpr std::string_view kStaticKeySignaturePrefix = "noise-libp2p-static-key:";

class LocalIdentity {
 public:
  // `stream_muxers` are advertised in NoiseExtensions. Leave it empty unless
  // the host implements the "inlined muxer negotiation" of the connections
  // spec: go-libp2p skips multistream-select for the muxer when both sides
  // list muxers here. `static_key` is injectable for tests.
  explicit LocalIdentity(const Ed25519KeyPair& identity,
                         std::vector<std::string> stream_muxers = {},
                         std::optional<X25519KeyPair> static_key = std::nullopt);

  const X25519KeyPair& static_key() const { return static_key_; }
  // Encoded NoiseHandshakePayload sent in message 2 (responder) or 3 (initiator).
  const Bytes& payload() const { return payload_; }
  const PeerId& peer_id() const { return peer_id_; }

 private:
  X25519KeyPair static_key_;
  Bytes payload_;
  PeerId peer_id_;
};

// What the remote proved about itself in its handshake payload.
struct RemoteIdentity {
  PublicKey public_key;
  PeerId peer_id;
  std::vector<std::string> stream_muxers;
  std::vector<Bytes> webtransport_certhashes;
};

// Encodes a NoiseHandshakePayload: exposed so tests can forge payloads.
Bytes encode_payload(BytesView identity_key_protobuf, BytesView identity_sig,
                     const std::vector<std::string>& stream_muxers = {});

// Decodes the remote payload, decodes its identity key (any key type), checks
// the signature over the remote static key `remote_static` received in the
// same handshake, and derives the Peer ID. If `expected` is not null, the Peer
// ID must equal it (libp2p/specs noise/README.md SecureOutbound).
Result<RemoteIdentity> verify_payload(BytesView payload, const Key32& remote_static,
                                      const PeerId* expected = nullptr);

}  // namespace mp::noise

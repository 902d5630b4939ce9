// Identity keys (libp2p/specs peer-ids/peer-ids.md).
// Our own identity is always Ed25519. Remote public keys of every type peers
// use (Ed25519, secp256k1, ECDSA, RSA) can be decoded and verified.
// All encodings are the libp2p protobuf PublicKey / PrivateKey messages.
//
// Callers may rely on:
//  - to_protobuf() producing the deterministic encoding the spec requires
//    (field 1 then field 2, minimal varints, nothing else), so equal keys give
//    equal bytes and equal Peer IDs;
//  - decoding never throwing on bad input: malformed bytes give an Error;
//  - PublicKey and Ed25519KeyPair being cheap to copy and safe to use from
//    several threads at once (the OpenSSL key object is shared, read-only).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace mp {

enum class KeyType : int { kRsa = 0, kEd25519 = 1, kSecp256k1 = 2, kEcdsa = 3 };
const char* key_type_name(KeyType t);

// RSA key sizes we accept from peers. The spec sets no bound; go-libp2p
// refuses keys under 2048 bits (too weak) and over 8192 bits (too costly to
// verify: a cheap way to burn our CPU), and we do the same.
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 8192;

// A remote (or our own) public key, decoded and ready to verify signatures.
// A default-constructed PublicKey is empty: verify() returns false.
class PublicKey {
 public:
  // Decodes the protobuf PublicKey encoding. Fields may come in any order and
  // unknown fields are skipped (as protobuf decoders do), but both fields must
  // be present and the key bytes must parse: Ed25519 raw 32 bytes; secp256k1
  // 33-byte compressed point; ECDSA DER SubjectPublicKeyInfo on P-256, P-384
  // or P-521; RSA DER SubjectPublicKeyInfo of kMinRsaBits..kMaxRsaBits bits.
  static Result<PublicKey> from_protobuf(BytesView encoded);
  // Same checks, from the key type and the Data field bytes.
  static Result<PublicKey> from_raw(KeyType type, BytesView data);
  static Result<PublicKey> from_ed25519(BytesView raw32);

  KeyType type() const { return type_; }
  // Raw key bytes as carried in the protobuf Data field.
  const Bytes& data() const { return data_; }
  // Deterministic protobuf PublicKey encoding (the bytes a Peer ID hashes).
  Bytes to_protobuf() const;
  bool empty() const { return data_.empty(); }

  // Verifies `sig` over `msg`: Ed25519 directly (RFC 8032); secp256k1 and
  // ECDSA: DER-encoded ECDSA signature over SHA-256(msg); RSA: RSASSA-PKCS1-v1_5
  // with SHA-256. Any malformed signature is simply "false".
  bool verify(BytesView msg, BytesView sig) const;

  bool operator==(const PublicKey& o) const { return type_ == o.type_ && data_ == o.data_; }

 private:
  KeyType type_ = KeyType::kEd25519;
  Bytes data_;
  // EVP_PKEY, shared so copies are cheap; null for Ed25519, whose 32 bytes
  // are all a connection keeps of its remote (libsodium verifies them).
  std::shared_ptr<void> pkey_;
};

// Our Ed25519 identity key pair.
// A default-constructed pair is empty (all-zero bytes, sign() returns an empty
// vector); obtain real ones from the factories below.
class Ed25519KeyPair {
 public:
  static Ed25519KeyPair generate();
  // From a 32-byte secret seed (the Ed25519 "private key" of RFC 8032).
  static Result<Ed25519KeyPair> from_secret(BytesView secret32);
  // PEER_ID_SEED compatibility with the Rust node: secret = SHA-256(seed).
  static Ed25519KeyPair from_seed_string(std::string_view seed);
  // Protobuf PrivateKey encoding. Data is secret(32)||public(32) as libp2p
  // implementations write it; on read the 32-byte secret alone and the legacy
  // 96-byte secret||public||public form are also accepted. A stored public
  // half that does not match the secret is an error.
  static Result<Ed25519KeyPair> from_protobuf_private(BytesView encoded);
  Bytes to_protobuf_private() const;

  const std::array<std::uint8_t, 32>& secret() const { return secret_; }
  const std::array<std::uint8_t, 32>& public_raw() const { return public_; }
  PublicKey public_key() const;
  // 64-byte Ed25519 signature.
  Bytes sign(BytesView msg) const;

 private:
  std::array<std::uint8_t, 32> secret_{};
  std::array<std::uint8_t, 32> public_{};
  std::shared_ptr<void> pkey_;  // EVP_PKEY
};

// Loads the identity key file at `path` (protobuf PrivateKey, as go/js/rust
// libp2p write it), or creates it with a fresh key: written to a temporary
// file with mode 0600 and renamed into place, so a crash never leaves a
// half-written key. An existing file that does not parse is an Error and is
// left untouched. `created` (optional) tells which of the two happened.
Result<Ed25519KeyPair> load_or_create_identity(const std::string& path, bool* created = nullptr);

}  // namespace mp

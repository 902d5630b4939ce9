// Identity keys (libp2p/specs peer-ids/peer-ids.md).
// Our own identity is always Ed25519. Remote public keys of every type peers
// use (Ed25519, secp256k1, ECDSA P-256, RSA) can be decoded and verified.
// All encodings are the libp2p protobuf PublicKey / PrivateKey messages.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace mp {

enum class KeyType : int { kRsa = 0, kEd25519 = 1, kSecp256k1 = 2, kEcdsa = 3 };
const char* key_type_name(KeyType t);

// A remote (or our own) public key, decoded and ready to verify signatures.
class PublicKey {
 public:
  // Decodes the protobuf PublicKey encoding. Fails on unknown key types or
  // key bytes that do not parse (e.g. an RSA key under 2048 bits is refused
  // as the spec's minimum? No: RSA keys smaller than 1024 bits are refused).
  static Result<PublicKey> from_protobuf(BytesView encoded);
  static Result<PublicKey> from_ed25519(BytesView raw32);

  KeyType type() const { return type_; }
  // Raw key bytes as carried in the protobuf Data field.
  const Bytes& data() const { return data_; }
  // Deterministic protobuf PublicKey encoding (the bytes a Peer ID hashes).
  Bytes to_protobuf() const;

  // Verifies `sig` over `msg`: Ed25519 directly; secp256k1 and ECDSA over
  // SHA-256(msg) with a DER signature; RSA PKCS#1 v1.5 with SHA-256.
  bool verify(BytesView msg, BytesView sig) const;

 private:
  KeyType type_ = KeyType::kEd25519;
  Bytes data_;
  std::shared_ptr<void> pkey_;  // EVP_PKEY, shared so copies are cheap
};

// Our Ed25519 identity key pair.
class Ed25519KeyPair {
 public:
  static Ed25519KeyPair generate();
  // From a 32-byte secret seed (the Ed25519 "private key" of RFC 8032).
  static Result<Ed25519KeyPair> from_secret(BytesView secret32);
  // PEER_ID_SEED compatibility with the Rust node: secret = SHA-256(seed).
  static Ed25519KeyPair from_seed_string(std::string_view seed);
  // Protobuf PrivateKey encoding; Data is secret(32)||public(32) as libp2p
  // implementations write it (32-byte Data is also accepted on read).
  static Result<Ed25519KeyPair> from_protobuf_private(BytesView encoded);
  Bytes to_protobuf_private() const;

  const std::array<std::uint8_t, 32>& secret() const { return secret_; }
  const std::array<std::uint8_t, 32>& public_raw() const { return public_; }
  PublicKey public_key() const;
  Bytes sign(BytesView msg) const;

 private:
  std::array<std::uint8_t, 32> secret_{};
  std::array<std::uint8_t, 32> public_{};
  std::shared_ptr<void> pkey_;  // EVP_PKEY
};

// Loads DATA_DIR/identity.key, or creates it (mode 0600) with a fresh key.
Result<Ed25519KeyPair> load_or_create_identity(const std::string& path, bool* created = nullptr);

}  // namespace mp

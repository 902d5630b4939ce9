// The crypto functions of Noise_*_25519_ChaChaPoly_SHA256 (Noise Protocol
// Framework rev 34, sections 4 and 12): X25519 DH, SHA-256, HMAC-SHA256 and
// the Noise HKDF. Thin wrappers over OpenSSL 3; the OpenSSL algorithm objects
// are fetched once per process, not per call.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/bytes.hpp"
#include "core/result.hpp"

struct evp_pkey_st;

namespace mp::noise {

constexpr std::size_t kDhLen = 32;    // X25519 key and shared secret size
constexpr std::size_t kHashLen = 32;  // SHA-256
constexpr std::size_t kKeyLen = 32;   // ChaCha20-Poly1305 key
constexpr std::size_t kTagLen = 16;   // Poly1305 tag

using Key32 = std::array<std::uint8_t, 32>;
using Hash32 = std::array<std::uint8_t, kHashLen>;

// An X25519 key pair. The private key is the raw 32-byte scalar (clamping is
// done by X25519 itself, RFC 7748 section 5). Cheap to copy: the loaded
// OpenSSL key is shared (read-only), so a DH costs one scalar multiplication
// instead of two (loading a raw private key recomputes its public key).
struct X25519KeyPair {
  Key32 private_key{};
  Key32 public_key{};
  std::shared_ptr<evp_pkey_st> pkey;

  static X25519KeyPair generate();
  // Derives the public key from a given private key (tests inject fixed keys).
  static X25519KeyPair from_private(const Key32& private_key);
};

// DH(key_pair, public_key) of the Noise spec. Fails when the remote public
// key is a low-order point (the shared secret would be all zeros; OpenSSL
// refuses it, and Noise section 12.1 allows refusing it).
Result<Key32> x25519(const X25519KeyPair& ours, const Key32& remote_public);

Hash32 sha256(BytesView data);
Hash32 sha256(BytesView a, BytesView b);  // SHA-256(a || b), no concatenation copy
Hash32 hmac_sha256(BytesView key, BytesView data);

// Noise HKDF (section 4.3) with two outputs (three are only needed for PSK
// patterns, which libp2p does not use).
struct Hkdf2 {
  Hash32 out1, out2;
};
Hkdf2 hkdf2(const Hash32& chaining_key, BytesView input_key_material);

// Overwrites secrets in memory the compiler may not elide.
void secure_wipe(void* p, std::size_t n);

}  // namespace mp::noise

// Kademlia keys and the XOR metric (libp2p/specs kad-dht/README.md
// "Distance": distance(a, b) = XOR(sha256(a), sha256(b))).
//
// kad::Key is the 32-byte SHA-256 of the key bytes: of the Peer ID multihash
// bytes for peers, of the raw key for records and provider keys (a CID's
// multihash as sent on the wire). Keys compare as 256-bit big-endian numbers,
// so "smaller distance" is plain lexicographic order of the XOR bytes.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "core/bytes.hpp"
#include "core/peer_id.hpp"

namespace mp::kad {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kKeyBits = 256;

// An XOR distance between two keys.
struct Distance {
  std::array<std::uint8_t, kKeyBytes> bytes{};

  // Number of leading zero bits (256 for the zero distance).
  std::size_t leading_zeros() const;
  // Index of the k-bucket a key at this distance falls into: the position of
  // the highest set bit (0..255), or nullopt for distance zero (the key
  // itself). Bucket 255 holds the farthest half of the key space.
  std::optional<std::size_t> bucket_index() const;
  bool is_zero() const;

  auto operator<=>(const Distance&) const = default;
  bool operator==(const Distance&) const = default;
};

class Key {
 public:
  Key() = default;
  // The SHA-256 of arbitrary key bytes (record keys, provider keys,
  // FIND_NODE targets).
  static Key from_bytes(BytesView key);
  static Key from_peer(const PeerId& peer) { return from_bytes(peer.bytes()); }
  // A key whose 32 bytes are given as is (tests, random refresh targets).
  static Key from_raw(const std::array<std::uint8_t, kKeyBytes>& raw);

  const std::array<std::uint8_t, kKeyBytes>& raw() const { return raw_; }
  Distance distance(const Key& other) const;
  std::string to_hex() const;

  auto operator<=>(const Key&) const = default;
  bool operator==(const Key&) const = default;

 private:
  std::array<std::uint8_t, kKeyBytes> raw_{};
};

// distance(a, target) < distance(b, target), without building either
// distance: the first byte where a and b differ decides (above it both XOR
// the target alike). The routing table sorts by it for every FIND_NODE.
inline bool closer_to(const Key& target, const Key& a, const Key& b) {
  const auto& x = a.raw();
  const auto& y = b.raw();
  const auto& t = target.raw();
  for (std::size_t i = 0; i < kKeyBytes; ++i) {
    if (x[i] != y[i]) return (x[i] ^ t[i]) < (y[i] ^ t[i]);
  }
  return false;
}

// A uniformly random key whose distance to `local` falls into bucket
// `bucket` (0..255): the top bits down to `bucket` follow `local` with bit
// `bucket` flipped, the rest are random. Only a point of the key space: no
// known bytes hash to it (see random_peer_id_in_bucket for a lookup target).
Key random_key_in_bucket(const Key& local, std::size_t bucket, std::mt19937_64& rng);

// A lookup target for bucket `bucket`: random Peer ID bytes (a sha2-256
// multihash, which rust-libp2p requires of a FIND_NODE key) whose Key falls
// into that bucket. SHA-256 cannot be inverted, so this tries random IDs: a
// bucket b with c = 255 - b leading bits in common takes ~2^(c+1) tries;
// gives up (nullopt) after `max_tries`. go-libp2p-kad-dht precomputes a
// table for the same purpose; rust-libp2p tries a few random IDs.
struct LookupTarget {
  Bytes key_bytes;  // the FIND_NODE key to send
  Key key;          // its SHA-256
};
std::optional<LookupTarget> random_peer_id_in_bucket(const Key& local, std::size_t bucket,
                                                     std::mt19937_64& rng,
                                                     std::size_t max_tries = 1u << 20);

}  // namespace mp::kad

template <>
struct std::hash<mp::kad::Key> {
  std::size_t operator()(const mp::kad::Key& k) const noexcept {
    // The key is already a uniform hash; its first 8 bytes suffice.
    std::size_t h = 0;
    for (std::size_t i = 0; i < sizeof(h); ++i) h = (h << 8) | k.raw()[i];
    return h;
  }
};

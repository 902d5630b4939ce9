// Peer IDs (libp2p/specs peer-ids/peer-ids.md): a multihash of the protobuf
// PublicKey encoding: identity multihash when that encoding is 42 bytes or
// less, SHA-256 otherwise. Text forms: base58btc ("12D3KooW...", "Qm...") and
// CIDv1 with the libp2p-key codec in multibase base32 ("bafz...").
#pragma once

#include <compare>
#include <functional>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/keys.hpp"
#include "core/result.hpp"

namespace mp {

class PeerId {
 public:
  PeerId() = default;
  static PeerId from_public_key(const PublicKey& key);
  // Validates that `multihash` is an identity or sha2-256 multihash.
  static Result<PeerId> from_bytes(BytesView multihash);
  // Accepts base58btc and CIDv1 (multibase) text.
  static Result<PeerId> parse(std::string_view text);

  const Bytes& bytes() const { return bytes_; }
  std::string to_base58() const;
  std::string to_cid() const;
  std::string to_string() const { return to_base58(); }
  // For identity-multihash peer IDs the public key is inside the ID.
  std::optional<PublicKey> extract_public_key() const;
  bool empty() const { return bytes_.empty(); }

  // True if `key` hashes to this Peer ID.
  bool matches(const PublicKey& key) const;

  // Byte-wise order of the multihashes. Out of line: GCC 12 raises a false
  // -Wstringop-overread when vector<uint8_t> <=> is inlined into callers.
  std::strong_ordering operator<=>(const PeerId& o) const;
  bool operator==(const PeerId& o) const { return bytes_ == o.bytes_; }

 private:
  explicit PeerId(Bytes b) : bytes_(std::move(b)) {}
  Bytes bytes_;
};

}  // namespace mp

template <>
struct std::hash<mp::PeerId> {
  std::size_t operator()(const mp::PeerId& p) const noexcept;
};

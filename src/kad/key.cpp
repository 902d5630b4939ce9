#include "kad/key.hpp"

#include <bit>

#include "core/hash.hpp"

namespace mp::kad {

std::size_t Distance::leading_zeros() const {
  std::size_t n = 0;
  for (std::uint8_t b : bytes) {
    if (b != 0) return n + static_cast<std::size_t>(std::countl_zero(b));
    n += 8;
  }
  return n;
}

std::optional<std::size_t> Distance::bucket_index() const {
  const std::size_t lz = leading_zeros();
  if (lz == kKeyBits) return std::nullopt;
  return kKeyBits - 1 - lz;
}

bool Distance::is_zero() const { return leading_zeros() == kKeyBits; }

Key Key::from_bytes(BytesView key) {
  Key k;
  k.raw_ = sha256(key);
  return k;
}

Key Key::from_raw(const std::array<std::uint8_t, kKeyBytes>& raw) {
  Key k;
  k.raw_ = raw;
  return k;
}

Distance Key::distance(const Key& other) const {
  Distance d;
  for (std::size_t i = 0; i < kKeyBytes; ++i) d.bytes[i] = raw_[i] ^ other.raw_[i];
  return d;
}

std::string Key::to_hex() const { return mp::to_hex(BytesView(raw_.data(), raw_.size())); }

Key random_key_in_bucket(const Key& local, std::size_t bucket, std::mt19937_64& rng) {
  // Distance d has its highest set bit at `bucket`: bits above are 0, bit
  // `bucket` is 1, bits below are random. The key is local XOR d.
  Distance d;
  for (std::size_t i = 0; i < kKeyBytes; i += 8) {
    std::uint64_t r = rng();
    for (std::size_t j = 0; j < 8; ++j) d.bytes[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  // Bit numbering: bit 255 is the most significant bit of byte 0.
  const std::size_t byte = (kKeyBits - 1 - bucket) / 8;
  const unsigned bit_in_byte = static_cast<unsigned>(bucket % 8);  // 0 = least significant
  for (std::size_t i = 0; i < byte; ++i) d.bytes[i] = 0;
  const auto top_mask = static_cast<std::uint8_t>(0xFFu << (bit_in_byte + 1));
  d.bytes[byte] = static_cast<std::uint8_t>((d.bytes[byte] & ~top_mask) | (1u << bit_in_byte));
  std::array<std::uint8_t, kKeyBytes> raw{};
  for (std::size_t i = 0; i < kKeyBytes; ++i) raw[i] = local.raw()[i] ^ d.bytes[i];
  return Key::from_raw(raw);
}

std::optional<LookupTarget> random_peer_id_in_bucket(const Key& local, std::size_t bucket,
                                                     std::mt19937_64& rng, std::size_t max_tries) {
  // sha2-256 multihash: code 0x12, length 0x20, 32 digest bytes.
  Bytes id(34);
  id[0] = 0x12;
  id[1] = 0x20;
  for (std::size_t t = 0; t < max_tries; ++t) {
    for (std::size_t i = 0; i < 32; i += 8) {
      std::uint64_t r = rng();
      for (std::size_t j = 0; j < 8; ++j) id[2 + i + j] = static_cast<std::uint8_t>(r >> (8 * j));
    }
    Key k = Key::from_bytes(id);
    if (local.distance(k).bucket_index() == bucket) return LookupTarget{id, k};
  }
  return std::nullopt;
}

}  // namespace mp::kad

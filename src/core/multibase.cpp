#include "core/multibase.hpp"

#include <array>

namespace mp {

namespace {

constexpr std::string_view kBase58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::array<int, 256> reverse_table(std::string_view alphabet) {
  std::array<int, 256> t{};
  t.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  }
  return t;
}

std::string_view strip_padding(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  return s;
}

// Generic RFC 4648 decoder for power-of-two bases (`bits` per character).
// Leftover bits must be zero: otherwise two texts would map to one value.
std::optional<Bytes> decode_bits(std::string_view text, const std::array<int, 256>& table,
                                 int bits) {
  Bytes out;
  out.reserve(text.size() * static_cast<std::size_t>(bits) / 8);
  std::uint32_t acc = 0;
  int nbits = 0;
  for (char c : text) {
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << bits) | static_cast<std::uint32_t>(v);
    nbits += bits;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> nbits));
      acc &= (1u << nbits) - 1;
    }
  }
  // A lone trailing character (fewer bits than a byte... more than allowed).
  if (nbits >= bits) return std::nullopt;
  if (acc != 0) return std::nullopt;
  return out;
}

std::string encode_bits(BytesView data, std::string_view alphabet, int bits) {
  std::string out;
  out.reserve((data.size() * 8 + static_cast<std::size_t>(bits) - 1) /
              static_cast<std::size_t>(bits));
  std::uint32_t acc = 0;
  int nbits = 0;
  const std::uint32_t mask = (1u << bits) - 1;
  for (std::uint8_t b : data) {
    acc = (acc << 8) | b;
    nbits += 8;
    while (nbits >= bits) {
      nbits -= bits;
      out.push_back(alphabet[(acc >> nbits) & mask]);
    }
    acc &= (1u << nbits) - 1;
  }
  if (nbits > 0) out.push_back(alphabet[(acc << (bits - nbits)) & mask]);
  return out;
}

}  // namespace

std::string base58btc_encode(BytesView data) {
  std::size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  // log(256)/log(58) ~ 1.37: digits needed for the rest.
  std::vector<std::uint8_t> digits((data.size() - zeros) * 138 / 100 + 1);
  std::size_t len = 0;
  for (std::size_t i = zeros; i < data.size(); ++i) {
    std::uint32_t carry = data[i];
    for (std::size_t j = 0; j < len; ++j) {
      carry += static_cast<std::uint32_t>(digits[j]) << 8;
      digits[j] = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits[len++] = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (std::size_t i = len; i-- > 0;) out.push_back(kBase58[digits[i]]);
  return out;
}

namespace {

// Big-number base conversion shared by base58btc and base36: each leading
// zero digit stands for one leading zero byte.
std::optional<Bytes> decode_radix(std::string_view text, const std::array<int, 256>& table,
                                  std::uint32_t radix, char zero_digit) {
  std::size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == zero_digit) ++zeros;
  // log(radix)/log(256) < 0.733 for radix <= 58: bytes needed for the rest.
  Bytes bytes((text.size() - zeros) * 733 / 1000 + 1);
  std::size_t len = 0;
  for (std::size_t i = zeros; i < text.size(); ++i) {
    const int v = table[static_cast<unsigned char>(text[i])];
    if (v < 0) return std::nullopt;
    std::uint32_t carry = static_cast<std::uint32_t>(v);
    for (std::size_t j = 0; j < len; ++j) {
      carry += static_cast<std::uint32_t>(bytes[j]) * radix;
      bytes[j] = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes[len++] = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
  }
  Bytes out(zeros, 0);
  for (std::size_t i = len; i-- > 0;) out.push_back(bytes[i]);
  return out;
}

}  // namespace

std::optional<Bytes> base58btc_decode(std::string_view text) {
  static const auto table = reverse_table(kBase58);
  return decode_radix(text, table, 58, '1');
}

std::optional<Bytes> base36_decode(std::string_view text) {
  static const auto lower = reverse_table("0123456789abcdefghijklmnopqrstuvwxyz");
  static const auto upper = reverse_table("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  auto r = decode_radix(text, lower, 36, '0');
  if (!r) r = decode_radix(text, upper, 36, '0');
  return r;
}

std::string base32_encode(BytesView data) {
  return encode_bits(data, kBase32, 5);
}

std::optional<Bytes> base32_decode(std::string_view text) {
  static const auto lower = reverse_table(kBase32);
  static const auto upper = reverse_table("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
  text = strip_padding(text);
  auto r = decode_bits(text, lower, 5);
  if (!r) r = decode_bits(text, upper, 5);
  return r;
}

std::string base64_encode(BytesView data, bool url) {
  return encode_bits(data, url ? kBase64Url : kBase64, 6);
}

std::optional<Bytes> base64_decode(std::string_view text, bool url) {
  static const auto std_table = reverse_table(kBase64);
  static const auto url_table = reverse_table(kBase64Url);
  return decode_bits(strip_padding(text), url ? url_table : std_table, 6);
}

std::optional<Bytes> multibase_decode(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const std::string_view rest = text.substr(1);
  switch (text[0]) {
    case 'z':
      return base58btc_decode(rest);
    case 'k':
    case 'K':
      return base36_decode(rest);
    case 'b':
    case 'B':
      return base32_decode(rest);
    case 'f':
    case 'F': {
      bool ok = false;
      Bytes b = from_hex(rest, &ok);
      if (!ok) return std::nullopt;
      return b;
    }
    case 'm':
    case 'M':
      return base64_decode(rest, false);
    case 'u':
    case 'U':
      return base64_decode(rest, true);
    default:
      return std::nullopt;
  }
}

std::string multibase_encode(char base, BytesView data) {
  switch (base) {
    case 'z':
      return "z" + base58btc_encode(data);
    case 'b':
      return "b" + base32_encode(data);
    case 'f':
      return "f" + to_hex(data);
    case 'm':
      return "m" + base64_encode(data, false);
    default:
      return "u" + base64_encode(data, true);
  }
}

}  // namespace mp

// Text encodings of binary data used by Peer IDs, CIDs and multiaddrs:
// base58btc (bitcoin alphabet), RFC 4648 base32 / base64 / base64url, and
// multibase (multiformats/multibase): a one-character prefix naming the base.
// Decoders return nullopt on any character outside the alphabet, wrong
// padding or non-canonical trailing bits; they never throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"

namespace mp {

std::string base58btc_encode(BytesView data);
std::optional<Bytes> base58btc_decode(std::string_view text);
// base36 (multibase 'k' lower / 'K' upper; IPNS and some CID tools use it).
std::optional<Bytes> base36_decode(std::string_view text);

// RFC 4648 base32, lower case, no padding (multibase 'b').
std::string base32_encode(BytesView data);
// Accepts either case (not mixed) and optional '=' padding.
std::optional<Bytes> base32_decode(std::string_view text);

// RFC 4648 base64 ('m') and base64url ('u'), unpadded.
std::string base64_encode(BytesView data, bool url);
// Accepts optional '=' padding.
std::optional<Bytes> base64_decode(std::string_view text, bool url);

// Multibase prefixes we read: 'z' base58btc, 'k'/'K' base36, 'b'/'B' base32,
// 'f'/'F' base16, 'm'/'M' base64, 'u'/'U' base64url (capital = padded for
// the base64 forms).
std::optional<Bytes> multibase_decode(std::string_view text);
// `base` is one of the prefixes above ('z', 'b', 'f', 'm', 'u').
std::string multibase_encode(char base, BytesView data);

}  // namespace mp

#include "core/peer_id.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "core/hash.hpp"
#include "core/multibase.hpp"
#include "core/varint.hpp"

namespace mp {

namespace {

// multiformats/multicodec table.
constexpr std::uint64_t kIdentity = 0x00;
constexpr std::uint64_t kSha256 = 0x12;
constexpr std::uint64_t kLibp2pKey = 0x72;
// peer-ids.md: keys whose protobuf encoding is at most 42 bytes are inlined.
constexpr std::size_t kMaxInlineKeyLength = 42;
// Longest text we bother decoding: a CID of a 42-byte identity multihash in
// base32 is ~75 characters; base58 decoding is quadratic, so cap it.
constexpr std::size_t kMaxTextLength = 256;

}  // namespace

PeerId PeerId::from_public_key(const PublicKey& key) {
  const Bytes encoded = key.to_protobuf();
  Bytes mh;
  if (encoded.size() <= kMaxInlineKeyLength) {
    mh.reserve(2 + encoded.size());
    mh.push_back(kIdentity);
    varint::encode(encoded.size(), mh);
    append(mh, encoded);
  } else {
    const Sha256Digest digest = sha256(encoded);
    mh.reserve(2 + digest.size());
    mh.push_back(kSha256);
    mh.push_back(static_cast<std::uint8_t>(digest.size()));
    append(mh, digest);
  }
  return PeerId(std::move(mh));
}

Result<PeerId> PeerId::from_bytes(BytesView multihash) {
  auto code = varint::decode(multihash);
  if (!code) return make_error("peer id: malformed multihash code");
  auto len = varint::decode(multihash.subspan(code->size));
  if (!len) return make_error("peer id: malformed multihash length");
  const std::size_t header = code->size + len->size;
  if (len->value != multihash.size() - header) {
    return make_error("peer id: multihash length " + std::to_string(len->value) +
                      " does not match its " + std::to_string(multihash.size() - header) +
                      " digest bytes");
  }
  if (code->value == kIdentity) {
    if (len->value > kMaxInlineKeyLength) {
      return make_error("peer id: identity multihash longer than 42 bytes");
    }
  } else if (code->value == kSha256) {
    if (len->value != 32) return make_error("peer id: sha2-256 digest must be 32 bytes");
  } else {
    return make_error("peer id: unsupported multihash code 0x" +
                      to_hex(varint::encode(code->value)));
  }
  return PeerId(Bytes(multihash.begin(), multihash.end()));
}

Result<PeerId> PeerId::parse(std::string_view text) {
  if (text.empty()) return make_error("peer id: empty text");
  if (text.size() > kMaxTextLength) return make_error("peer id: text too long");
  // peer-ids.md "Decoding": '1...' or 'Qm...' is a bare base58btc multihash;
  // anything else must be a multibase CIDv1 with the libp2p-key codec.
  if (text[0] == '1' || text.starts_with("Qm")) {
    auto mh = base58btc_decode(text);
    if (!mh) return make_error("peer id: invalid base58btc text '" + std::string(text) + "'");
    return from_bytes(*mh);
  }
  auto cid = multibase_decode(text);
  if (!cid)
    return make_error("peer id: '" + std::string(text) +
                      "' is neither base58btc nor a multibase CID");
  const BytesView v(*cid);
  auto version = varint::decode(v);
  if (!version || version->value != 1) return make_error("peer id: CID is not CIDv1");
  auto codec = varint::decode(v.subspan(version->size));
  if (!codec || codec->value != kLibp2pKey) {
    return make_error("peer id: CID codec is not libp2p-key (0x72)");
  }
  return from_bytes(v.subspan(version->size + codec->size));
}

std::string PeerId::to_base58() const {
  return base58btc_encode(bytes_);
}

std::string PeerId::to_cid() const {
  Bytes cid;
  cid.reserve(2 + bytes_.size());
  varint::encode(1, cid);
  varint::encode(kLibp2pKey, cid);
  append(cid, bytes_);
  return multibase_encode('b', cid);
}

std::optional<PublicKey> PeerId::extract_public_key() const {
  if (bytes_.size() < 2 || bytes_[0] != kIdentity) return std::nullopt;
  auto len = varint::decode(BytesView(bytes_).subspan(1));
  if (!len) return std::nullopt;
  auto key = PublicKey::from_protobuf(BytesView(bytes_).subspan(1 + len->size));
  if (!key) return std::nullopt;
  return std::move(key.value());
}

std::strong_ordering PeerId::operator<=>(const PeerId& o) const {
  const std::size_t n = std::min(bytes_.size(), o.bytes_.size());
  const int c = n == 0 ? 0 : std::memcmp(bytes_.data(), o.bytes_.data(), n);
  if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
  return bytes_.size() <=> o.bytes_.size();
}

bool PeerId::matches(const PublicKey& key) const {
  return !empty() && from_public_key(key) == *this;
}

}  // namespace mp

std::size_t std::hash<mp::PeerId>::operator()(const mp::PeerId& p) const noexcept {
  return std::hash<std::string_view>{}(mp::as_string(p.bytes()));
}

#include "kad/ipns_record.hpp"

#include <string>
#include <string_view>

#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "ipns.pb.h"

namespace mp::kad {

namespace {

// Minimal CBOR reader (RFC 8949) for the IPNS data map: definite-length
// unsigned ints, byte and text strings, and one top-level map. Anything
// else is refused; DAG-CBOR forbids indefinite lengths anyway.
class CborReader {
 public:
  explicit CborReader(BytesView in) : in_(in) {}

  // Reads a header: major type and argument.
  bool header(std::uint8_t& major, std::uint64_t& arg) {
    if (pos_ >= in_.size()) return false;
    const std::uint8_t b = in_[pos_++];
    major = static_cast<std::uint8_t>(b >> 5);
    const std::uint8_t info = b & 0x1f;
    if (info < 24) {
      arg = info;
      return true;
    }
    std::size_t n = 0;
    switch (info) {
      case 24: n = 1; break;
      case 25: n = 2; break;
      case 26: n = 4; break;
      case 27: n = 8; break;
      default: return false;
    }
    if (in_.size() - pos_ < n) return false;
    arg = 0;
    for (std::size_t i = 0; i < n; ++i) arg = (arg << 8) | in_[pos_++];
    return true;
  }

  bool string_body(std::uint64_t len, BytesView& out) {
    if (in_.size() - pos_ < len) return false;
    out = in_.subspan(pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return true;
  }

  bool done() const { return pos_ == in_.size(); }

 private:
  BytesView in_;
  std::size_t pos_ = 0;
};

struct CborData {
  std::optional<std::uint64_t> sequence;
  std::optional<BytesView> value;
  std::optional<BytesView> validity;
};

std::optional<CborData> parse_cbor_data(BytesView data) {
  CborReader r(data);
  std::uint8_t major = 0;
  std::uint64_t entries = 0;
  if (!r.header(major, entries) || major != 5 || entries > 32) return std::nullopt;
  CborData out;
  for (std::uint64_t i = 0; i < entries; ++i) {
    std::uint64_t len = 0;
    BytesView key;
    if (!r.header(major, len) || major != 3 || !r.string_body(len, key)) return std::nullopt;
    std::uint64_t arg = 0;
    if (!r.header(major, arg)) return std::nullopt;
    BytesView body;
    if (major == 2 || major == 3) {
      if (!r.string_body(arg, body)) return std::nullopt;
    } else if (major != 0) {
      return std::nullopt;  // the IPNS data map holds only uints and strings
    }
    const std::string_view k = as_string(key);
    if (k == "Sequence" && major == 0) out.sequence = arg;
    if (k == "Value" && major == 2) out.value = body;
    if (k == "Validity" && major == 2) out.validity = body;
  }
  if (!r.done()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::uint64_t> parse_ipns_sequence(BytesView record) {
  pb::IpnsEntry e;
  if (!e.ParseFromArray(record.data(), static_cast<int>(record.size())) || !e.has_data()) {
    return std::nullopt;
  }
  auto d = parse_cbor_data(as_bytes(e.data()));
  if (!d) return std::nullopt;
  return d->sequence;
}

Result<IpnsRecordInfo> validate_ipns_record(BytesView name, BytesView record) {
  if (record.size() > kMaxIpnsRecordSize) return make_error("ipns record larger than 10 KiB");
  auto id = PeerId::from_bytes(name);
  if (!id) return make_error("ipns record: name is not a peer id: " + id.message());
  pb::IpnsEntry e;
  if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
    return make_error("ipns record: malformed protobuf");
  }
  if (!e.has_signaturev2() || !e.has_data()) {
    return make_error("ipns record: missing signatureV2 or data");
  }

  std::optional<PublicKey> key;
  if (e.has_pubkey()) {
    auto pk = PublicKey::from_protobuf(as_bytes(e.pubkey()));
    if (!pk) return make_error("ipns record: bad pubKey: " + pk.message());
    if (!id->matches(*pk)) return make_error("ipns record: pubKey does not match the name");
    key = std::move(pk.value());
  } else {
    key = id->extract_public_key();
    if (!key) return make_error("ipns record: no public key (not inlined in the name)");
  }

  std::string signed_bytes = "ipns-signature:";
  signed_bytes += e.data();
  if (!key->verify(as_bytes(signed_bytes), as_bytes(e.signaturev2()))) {
    return make_error("ipns record: signatureV2 does not verify");
  }

  auto data = parse_cbor_data(as_bytes(e.data()));
  if (!data || !data->sequence || !data->value || !data->validity) {
    return make_error("ipns record: malformed CBOR data");
  }
  if (e.has_value() && as_string(*data->value) != e.value()) {
    return make_error("ipns record: V1 value differs from the signed data");
  }
  if (e.has_sequence() && e.sequence() != *data->sequence) {
    return make_error("ipns record: V1 sequence differs from the signed data");
  }
  IpnsRecordInfo info;
  info.sequence = *data->sequence;
  info.value.assign(data->value->begin(), data->value->end());
  info.validity.assign(data->validity->begin(), data->validity->end());
  return info;
}

}  // namespace mp::kad

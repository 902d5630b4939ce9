#include "kad/record_validator.hpp"

#include <string_view>

#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "kad/ipns_record.hpp"
#include "kad/protocol.hpp"

namespace mp::kad {

namespace {

bool starts_with(BytesView key, std::string_view prefix) {
  return as_string(key).substr(0, prefix.size()) == prefix;
}

Status validate_pk(BytesView key, BytesView value) {
  const BytesView hash = key.subspan(4);  // after "/pk/"
  if (!is_valid_multihash(hash)) return make_error("/pk/ record: key is not a multihash");
  auto pk = PublicKey::from_protobuf(value);
  if (!pk) return make_error("/pk/ record: value is not a public key: " + pk.message());
  const PeerId id = PeerId::from_public_key(*pk);
  if (as_string(id.bytes()) != as_string(hash)) {
    return make_error("/pk/ record: public key does not match the key's peer id");
  }
  return Status::Ok();
}

}  // namespace

Status validate_record(BytesView key, BytesView value, const RecordValidation& config) {
  if (starts_with(key, "/pk/")) return validate_pk(key, value);
  if (starts_with(key, "/ipns/")) {
    auto r = validate_ipns_record(key.subspan(6), value);
    if (!r) return r.error();
    return Status::Ok();
  }
  if (!config.accept_other_namespaces) return make_error("record key in an unknown namespace");
  return Status::Ok();
}

bool should_replace(BytesView key, BytesView incoming, BytesView existing) {
  if (starts_with(key, "/ipns/")) {
    auto in = parse_ipns_sequence(incoming);
    auto ex = parse_ipns_sequence(existing);
    if (!in) return false;
    if (!ex) return true;
    return *in > *ex;
  }
  return true;
}

}  // namespace mp::kad

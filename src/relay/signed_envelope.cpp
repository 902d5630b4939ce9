#include "relay/signed_envelope.hpp"

#include "core/varint.hpp"
#include "envelope.pb.h"

namespace mp::relay {

Bytes envelope_signing_input(std::string_view domain, BytesView payload_type, BytesView payload) {
  Bytes out;
  out.reserve(domain.size() + payload_type.size() + payload.size() + 3 * varint::kMaxBytes);
  varint::encode(domain.size(), out);
  out.insert(out.end(), domain.begin(), domain.end());
  varint::encode(payload_type.size(), out);
  out.insert(out.end(), payload_type.begin(), payload_type.end());
  varint::encode(payload.size(), out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes seal_envelope(const Ed25519KeyPair& key, std::string_view domain, BytesView payload_type,
                    BytesView payload) {
  const Bytes sig = key.sign(envelope_signing_input(domain, payload_type, payload));
  pb::Envelope env;
  const Bytes pk = key.public_key().to_protobuf();
  env.set_public_key(pk.data(), pk.size());
  env.set_payload_type(payload_type.data(), payload_type.size());
  env.set_payload(payload.data(), payload.size());
  env.set_signature(sig.data(), sig.size());
  Bytes out(env.ByteSizeLong());
  env.SerializeWithCachedSizesToArray(out.data());
  return out;
}

Result<Envelope> open_envelope(BytesView encoded, std::string_view domain) {
  pb::Envelope env;
  if (!env.ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) {
    return make_error("signed envelope: not a valid protobuf Envelope");
  }
  auto key = PublicKey::from_protobuf(as_bytes(env.public_key()));
  if (!key) return make_error("signed envelope: bad public key: " + key.message());
  Envelope out;
  out.public_key = std::move(*key);
  out.payload_type = Bytes(env.payload_type().begin(), env.payload_type().end());
  out.payload = Bytes(env.payload().begin(), env.payload().end());
  out.signature = Bytes(env.signature().begin(), env.signature().end());
  if (!out.public_key.verify(envelope_signing_input(domain, out.payload_type, out.payload), out.signature)) {
    return make_error("signed envelope: signature does not verify for domain '" + std::string(domain) + "'");
  }
  return out;
}

}  // namespace mp::relay

#include "relay/voucher.hpp"

#include <algorithm>

#include "circuit.pb.h"
#include "relay/signed_envelope.hpp"

namespace mp::relay {

Bytes encode_voucher_payload(const Voucher& v) {
  pb::Voucher m;
  m.set_relay(v.relay.bytes().data(), v.relay.bytes().size());
  m.set_peer(v.peer.bytes().data(), v.peer.bytes().size());
  m.set_expiration(v.expiration);
  Bytes out(m.ByteSizeLong());
  m.SerializeWithCachedSizesToArray(out.data());
  return out;
}

Bytes sign_voucher(const Ed25519KeyPair& relay_key, const Voucher& v) {
  return seal_envelope(relay_key, kVoucherDomain, kVoucherPayloadType, encode_voucher_payload(v));
}

Result<Voucher> open_voucher(BytesView envelope) {
  auto env = open_envelope(envelope, kVoucherDomain);
  if (!env) return env.error();
  if (!std::equal(env->payload_type.begin(), env->payload_type.end(), std::begin(kVoucherPayloadType),
                  std::end(kVoucherPayloadType))) {
    return make_error("voucher: wrong payload type " + to_hex(env->payload_type));
  }
  pb::Voucher m;
  if (!m.ParsePartialFromArray(env->payload.data(), static_cast<int>(env->payload.size())) || !m.IsInitialized()) {
    return make_error("voucher: payload is not a Voucher");
  }
  auto relay = PeerId::from_bytes(as_bytes(m.relay()));
  auto peer = PeerId::from_bytes(as_bytes(m.peer()));
  if (!relay || !peer) return make_error("voucher: bad peer id");
  if (!relay->matches(env->public_key)) return make_error("voucher: not signed by the relay it names");
  return Voucher{std::move(*relay), std::move(*peer), m.expiration()};
}

}  // namespace mp::relay

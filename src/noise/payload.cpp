#include "noise/payload.hpp"

#include "payload.pb.h"

namespace mp::noise {
namespace {

Bytes signed_data(const Key32& static_public) {
  Bytes data;
  data.reserve(kStaticKeySignaturePrefix.size() + static_public.size());
  append(data, as_bytes(kStaticKeySignaturePrefix));
  append(data, static_public);
  return data;
}

}  // namespace

LocalIdentity::LocalIdentity(const Ed25519KeyPair& identity, std::vector<std::string> stream_muxers,
                             std::optional<X25519KeyPair> static_key)
    : static_key_(static_key ? *static_key : X25519KeyPair::generate()),
      peer_id_(PeerId::from_public_key(identity.public_key())) {
  const Bytes sig = identity.sign(signed_data(static_key_.public_key));
  payload_ = encode_payload(identity.public_key().to_protobuf(), sig, stream_muxers);
}

Bytes encode_payload(BytesView identity_key_protobuf, BytesView identity_sig,
                     const std::vector<std::string>& stream_muxers) {
  pb::NoiseHandshakePayload msg;
  msg.set_identity_key(std::string(as_string(identity_key_protobuf)));
  msg.set_identity_sig(std::string(as_string(identity_sig)));
  if (!stream_muxers.empty()) {
    for (const std::string& m : stream_muxers) msg.mutable_extensions()->add_stream_muxers(m);
  }
  std::string out = msg.SerializeAsString();
  return to_bytes(out);
}

Result<RemoteIdentity> verify_payload(BytesView payload, const Key32& remote_static,
                                      const PeerId* expected) {
  pb::NoiseHandshakePayload msg;
  if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return make_error("noise: handshake payload is not a valid NoiseHandshakePayload protobuf");
  }
  if (!msg.has_identity_key() || msg.identity_key().empty()) {
    return make_error("noise: handshake payload carries no identity key");
  }
  Result<PublicKey> key = PublicKey::from_protobuf(as_bytes(msg.identity_key()));
  if (!key) return make_error("noise: remote identity key: " + key.message());
  // libp2p/specs noise/README.md: signature over "noise-libp2p-static-key:" || static key.
  if (!key->verify(signed_data(remote_static), as_bytes(msg.identity_sig()))) {
    return make_error("noise: identity signature does not verify");
  }
  RemoteIdentity remote{*key, PeerId::from_public_key(*key), {}, {}};
  if (expected && *expected != remote.peer_id) {
    return make_error("noise: remote peer id " + remote.peer_id.to_string() +
                      " does not match expected " + expected->to_string());
  }
  if (msg.has_extensions()) {
    const pb::NoiseExtensions& ext = msg.extensions();
    remote.stream_muxers.assign(ext.stream_muxers().begin(), ext.stream_muxers().end());
    for (const std::string& h : ext.webtransport_certhashes()) {
      remote.webtransport_certhashes.push_back(to_bytes(h));
    }
  }
  return remote;
}

}  // namespace mp::noise

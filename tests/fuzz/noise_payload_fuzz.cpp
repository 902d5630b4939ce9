// The libp2p NoiseHandshakePayload (noise/payload.hpp verify_payload): the
// remote's identity key, its signature over our view of its static key, and
// the extensions. Input: flags byte || payload protobuf.
//  - flag 1 ("signed"): the fuzzed payload is parsed, its identity key and
//    signature replaced by a real Ed25519 key and a valid signature, so the
//    path past the signature check (expected Peer ID, extensions) is reached
//    with attacker-chosen extensions; it must then be accepted.
//  - flag 2: an expected Peer ID is given (the dialer's check).
// Otherwise the payload goes in as is (any key type, any signature).
#include <cstddef>
#include <cstdint>

#include "core/peer_id.hpp"
#include "fuzz/fuzz_check.hpp"
#include "fuzz/fuzz_keys.hpp"
#include "noise/payload.hpp"
#include "payload.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  BytesView payload(data + 1, size - 1);
  static const noise::Key32 remote_static =
      noise::X25519KeyPair::from_private(noise::Key32{7}).public_key;
  const Ed25519KeyPair& key = fuzz::identity_key(flags >> 4);
  const PeerId key_id = PeerId::from_public_key(key.public_key());
  const PeerId* expected = (flags & 2) ? &key_id : nullptr;

  Bytes rebuilt;
  if (flags & 1) {
    noise::pb::NoiseHandshakePayload msg;
    if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return 0;
    Bytes to_sign = to_bytes(noise::kStaticKeySignaturePrefix);
    append(to_sign, remote_static);
    const Bytes sig = key.sign(to_sign);
    const Bytes pub = key.public_key().to_protobuf();
    msg.set_identity_key(pub.data(), pub.size());
    msg.set_identity_sig(sig.data(), sig.size());
    rebuilt.resize(msg.ByteSizeLong());
    MP_FUZZ_CHECK(msg.SerializeToArray(rebuilt.data(), static_cast<int>(rebuilt.size())));
    payload = rebuilt;
  }
  auto remote = noise::verify_payload(payload, remote_static, expected);
  if (flags & 1) MP_FUZZ_CHECK(remote.ok());
  if (remote) {
    MP_FUZZ_CHECK(remote->peer_id.matches(remote->public_key));
    if (expected) MP_FUZZ_CHECK(remote->peer_id == *expected);
  }
  return 0;
}

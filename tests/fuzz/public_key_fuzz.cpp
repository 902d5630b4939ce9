// Protobuf-encoded public keys of every type (core/keys.hpp): identify,
// Noise payloads, signed envelopes, /pk/ records and IPNS records carry them.
// Input: varint(len) || key bytes || signature bytes; the message signed is
// fixed. Properties: decoding and verifying never crash; an accepted key
// re-encodes to bytes that decode to an equal key; the same key bytes as
// from_raw() agree.
#include <cstddef>
#include <cstdint>

#include "core/keys.hpp"
#include "core/peer_id.hpp"
#include "core/varint.hpp"
#include "fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  BytesView in(data, size);
  BytesView key_bytes = in;
  BytesView sig;
  if (auto len = varint::decode(in); len && len->value <= in.size() - len->size) {
    key_bytes = in.subspan(len->size, len->value);
    sig = in.subspan(len->size + len->value);
  }
  auto key = PublicKey::from_protobuf(key_bytes);
  if (!key) return 0;
  const Bytes canonical = key->to_protobuf();
  auto again = PublicKey::from_protobuf(canonical);
  MP_FUZZ_CHECK(again.ok());
  MP_FUZZ_CHECK(*again == *key);
  MP_FUZZ_CHECK(again->to_protobuf() == canonical);
  auto raw = PublicKey::from_raw(key->type(), key->data());
  MP_FUZZ_CHECK(raw.ok() && *raw == *key);
  const PeerId id = PeerId::from_public_key(*key);
  MP_FUZZ_CHECK(id.matches(*key));
  static const Bytes msg = to_bytes("mepassa fuzz message");
  (void)key->verify(msg, sig);
  return 0;
}

// Signed envelopes and reservation vouchers (relay/signed_envelope.hpp
// open_envelope, relay/voucher.hpp open_voucher). Input: mode byte ||
// Envelope protobuf. Mode bit 0 ("reseal"): the fuzzed envelope's payload
// type and payload are sealed again with a real key, so the voucher payload
// decoding behind the signature check sees attacker-chosen bytes.
// Properties: a sealed envelope always opens to the same fields; an opened
// voucher is signed by the relay it names; a voucher re-signed from its
// fields opens to the same fields.
#include <cstddef>
#include <cstdint>

#include "envelope.pb.h"
#include "fuzz/fuzz_check.hpp"
#include "fuzz/fuzz_keys.hpp"
#include "relay/signed_envelope.hpp"
#include "relay/voucher.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  using namespace mp::relay;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  BytesView encoded(data + 1, size - 1);
  const Ed25519KeyPair& key = fuzz::identity_key(mode >> 4);

  Bytes sealed;
  if (mode & 1) {
    pb::Envelope env;
    if (!env.ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) return 0;
    sealed =
        seal_envelope(key, kVoucherDomain, as_bytes(env.payload_type()), as_bytes(env.payload()));
    auto opened = open_envelope(sealed, kVoucherDomain);
    MP_FUZZ_CHECK(opened.ok());
    MP_FUZZ_CHECK(opened->payload == to_bytes(env.payload()));
    MP_FUZZ_CHECK(opened->payload_type == to_bytes(env.payload_type()));
    MP_FUZZ_CHECK(opened->public_key == key.public_key());
    // Another domain must not open it.
    MP_FUZZ_CHECK(!open_envelope(sealed, "libp2p-routing-state").ok());
    encoded = sealed;
  }
  (void)open_envelope(encoded, "libp2p-routing-state");
  auto voucher = open_voucher(encoded);
  if (!voucher) return 0;
  auto signer = open_envelope(encoded, kVoucherDomain);
  MP_FUZZ_CHECK(signer.ok());
  MP_FUZZ_CHECK(voucher->relay.matches(signer->public_key));
  if (voucher->relay.matches(key.public_key())) {
    auto again = open_voucher(sign_voucher(key, *voucher));
    MP_FUZZ_CHECK(again.ok());
    MP_FUZZ_CHECK(again->relay == voucher->relay && again->peer == voucher->peer &&
                  again->expiration == voucher->expiration);
  }
  return 0;
}

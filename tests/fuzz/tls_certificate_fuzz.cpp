// A peer's TLS certificate (DER) as QUIC hands it to tls::verify_certificate,
// and the same bytes as a SignedKey extension value. Properties: never
// crash; an accepted certificate names the Peer ID of the key it carries; a
// refusal has a tls::Errc; a SignedKey that decodes re-encodes to the same
// bytes (DER is canonical, and the codec refuses what is not).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.hpp"
#include "tls/certificate.hpp"
#include "tls/signed_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  const BytesView in(data, size);
  tls::VerifyResult r = tls::verify_certificate(in);
  if (r) {
    MP_FUZZ_CHECK(!r.code());
    MP_FUZZ_CHECK(r->peer.matches(r->key));
  } else {
    MP_FUZZ_CHECK(&r.code().category() == &tls::error_category());
    MP_FUZZ_CHECK(size <= tls::kMaxCertificateBytes ||
                  r.code() == tls::Errc::certificate_too_large);
  }
  if (auto key = tls::decode_signed_key(in)) {
    const Bytes again = tls::encode_signed_key(*key);
    MP_FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), in.begin()));
  }
  return 0;
}

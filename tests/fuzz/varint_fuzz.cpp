// Unsigned varints (core/varint.hpp): every length prefix a peer sends.
// Properties: decode never reads past the input, and an accepted varint is
// minimal, so re-encoding its value gives back exactly the bytes consumed.
#include <cstddef>
#include <cstdint>

#include "core/varint.hpp"
#include "fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  const BytesView in(data, size);
  varint::Decoded d{};
  const auto status = varint::decode(in, d);
  const auto opt = varint::decode(in);
  MP_FUZZ_CHECK(opt.has_value() == (status == varint::DecodeStatus::kOk));
  if (status == varint::DecodeStatus::kOk) {
    MP_FUZZ_CHECK(d.size >= 1 && d.size <= varint::kMaxBytes && d.size <= size);
    MP_FUZZ_CHECK(varint::encode(d.value) == Bytes(data, data + d.size));
    MP_FUZZ_CHECK(varint::encoded_size(d.value) == d.size);
    MP_FUZZ_CHECK(opt->value == d.value && opt->size == d.size);
  }
  return 0;
}

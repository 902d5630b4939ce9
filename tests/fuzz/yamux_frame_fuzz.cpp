// Yamux frame headers (yamux/frame.hpp decode_header): the 12 bytes in front
// of every frame. Input: 4-byte big-endian max_data_length || header bytes.
// Properties: an accepted header re-encodes to the same 12 bytes, and a DATA
// header never announces more than max_data_length.
#include <array>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.hpp"
#include "yamux/frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  if (size < 4 + yamux::kHeaderSize) return 0;
  const std::uint32_t max_data = (std::uint32_t{data[0]} << 24) | (std::uint32_t{data[1]} << 16) |
                                 (std::uint32_t{data[2]} << 8) | data[3];
  const BytesView in(data + 4, size - 4);
  auto h = yamux::decode_header(in, max_data);
  if (!h) return 0;
  std::array<std::uint8_t, yamux::kHeaderSize> out{};
  yamux::encode_header(*h, out);
  MP_FUZZ_CHECK(BytesView(out).size() == yamux::kHeaderSize);
  MP_FUZZ_CHECK(Bytes(out.begin(), out.end()) ==
                Bytes(in.begin(), in.begin() + yamux::kHeaderSize));
  if (h->type == yamux::FrameType::data) MP_FUZZ_CHECK(h->length <= max_data);
  Bytes appended;
  yamux::append_header(appended, *h);
  MP_FUZZ_CHECK(appended == Bytes(out.begin(), out.end()));
  return 0;
}

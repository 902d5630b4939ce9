// multistream-select (multistream/codec.hpp, negotiate.hpp): the first bytes
// of every connection and every stream. The input goes two ways:
//  - split into varint-length-prefixed bodies, each given to decode_message
//    (an accepted body re-encodes to the same bytes);
//  - replayed as the remote's side of negotiate_inbound, in chunks whose
//    size the first byte picks (fragmentation), with bounded handler steps.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/varint.hpp"
#include "fuzz/drive.hpp"
#include "fuzz/fuzz_check.hpp"
#include "multistream/codec.hpp"
#include "multistream/negotiate.hpp"
#include "support/scripted_stream.hpp"

namespace {

asio::awaitable<void> negotiate(mp::test::ScriptedStream& stream) {
  auto supported = [](std::string_view p) { return p == "/noise" || p == "/yamux/1.0.0"; };
  auto n = co_await mp::multistream::negotiate_inbound(stream, supported);
  MP_FUZZ_CHECK(supported(n.protocol));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  if (size == 0) return 0;
  const std::size_t chunk = data[0] % 16 + 1;
  const BytesView in(data + 1, size - 1);

  for (BytesView rest = in; !rest.empty();) {
    auto len = varint::decode(rest);
    if (!len || len->value > rest.size() - len->size) break;
    const BytesView body = rest.subspan(len->size, len->value);
    if (auto text = multistream::decode_message(body)) {
      MP_FUZZ_CHECK(multistream::encode_message(*text) ==
                    Bytes(rest.begin(), rest.begin() + len->size + len->value));
    }
    rest = rest.subspan(len->size + len->value);
  }

  asio::io_context io;
  test::ScriptedStream stream(Bytes(in.begin(), in.end()), chunk);
  bool done = false;
  fuzz::spawn_checked(io, negotiate(stream), &done);
  fuzz::poll_bounded(io, 100000);
  // The scripted stream never blocks: negotiation ends (agreed, refused or EOF).
  MP_FUZZ_CHECK(done);
  return 0;
}

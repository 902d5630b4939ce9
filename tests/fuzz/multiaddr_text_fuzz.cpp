// Text multiaddrs (core/multiaddr.hpp parse): addresses from configuration,
// from stored rows, and from peers that send text (AutoNAT logs, relay).
// Properties: an accepted address prints, its text parses back to the same
// binary form, and its bytes decode back to it (text and binary agree).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/multiaddr.hpp"
#include "fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  auto a = Multiaddr::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!a) return 0;
  const std::string text = a->to_string();
  auto again = Multiaddr::parse(text);
  MP_FUZZ_CHECK(again.ok());
  MP_FUZZ_CHECK(*again == *a);
  MP_FUZZ_CHECK(again->to_string() == text);
  auto from_bin = Multiaddr::from_bytes(a->bytes());
  MP_FUZZ_CHECK(from_bin.ok());
  MP_FUZZ_CHECK(*from_bin == *a);
  (void)a->tcp_endpoint();
  (void)a->is_private_or_local();
  return 0;
}

// Binary multiaddrs (core/multiaddr.hpp from_bytes): identify listen and
// observed addresses, Kademlia Peer.addrs, AutoNAT and relay addresses.
// Properties (the header's contract): an accepted address is canonical
// (bytes() == input), prints, and its text parses back to the same bytes;
// the accessors used on peer addresses never crash.
#include <cstddef>
#include <cstdint>

#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  auto a = Multiaddr::from_bytes(BytesView(data, size));
  if (!a) return 0;
  MP_FUZZ_CHECK(a->bytes() == Bytes(data, data + size));
  const std::string text = a->to_string();
  auto back = Multiaddr::parse(text);
  MP_FUZZ_CHECK(back.ok());
  MP_FUZZ_CHECK(*back == *a);
  (void)a->tcp_endpoint();
  (void)a->is_private_or_local();
  (void)a->is_circuit();
  if (auto id = a->peer_id()) {
    // with_peer_id replaces a trailing /p2p/ (so /p2p/A/p2p/B is not
    // without_peer_id().with_peer_id(B) again: that strips A too).
    MP_FUZZ_CHECK(a->with_peer_id(*id) == *a);
    MP_FUZZ_CHECK(a->without_peer_id().components().size() + 1 == a->components().size());
  }
  return 0;
}

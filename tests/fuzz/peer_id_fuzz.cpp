// Peer IDs (core/peer_id.hpp): multihash bytes from the wire (Kademlia,
// relay, vouchers, IPNS names) and text (stored rows, /p2p/ components).
// The first byte picks the form. Properties: an accepted ID round-trips
// through both text forms, and a key extracted from an identity multihash
// hashes back to the same ID.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/peer_id.hpp"
#include "fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  if (size == 0) return 0;
  const bool text = data[0] & 1;
  ++data;
  --size;
  auto id = text ? PeerId::parse(std::string_view(reinterpret_cast<const char*>(data), size))
                 : PeerId::from_bytes(BytesView(data, size));
  if (!id) return 0;
  if (!text) MP_FUZZ_CHECK(id->bytes() == Bytes(data, data + size));
  auto b58 = PeerId::parse(id->to_base58());
  MP_FUZZ_CHECK(b58.ok() && *b58 == *id);
  auto cid = PeerId::parse(id->to_cid());
  MP_FUZZ_CHECK(cid.ok() && *cid == *id);
  if (auto key = id->extract_public_key()) {
    MP_FUZZ_CHECK(id->matches(*key));
  }
  return 0;
}

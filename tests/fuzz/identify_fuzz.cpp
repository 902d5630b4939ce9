// Identify messages (identify/identify.hpp decode, receive): what every peer
// tells us about itself after connecting. Input: mode byte || message.
// The remote Peer ID is a fixed one, or (mode bit 0) the one derived from the
// public key inside the message, so the path past the key check is reached.
// Mode bit 1: the message also goes through receive() as a length-prefixed
// stream in chunks. Properties: a decoded key always matches the remote;
// every listen address is either decoded or counted; a decoded Info
// re-encodes and decodes to the same fields.
#include <cstddef>
#include <cstdint>

#include "core/varint.hpp"
#include "fuzz/drive.hpp"
#include "fuzz/fuzz_check.hpp"
#include "fuzz/fuzz_keys.hpp"
#include "identify.pb.h"
#include "identify/identify.hpp"
#include "support/scripted_stream.hpp"

namespace {

using namespace mp;

asio::awaitable<void> receive(Bytes wire, PeerId remote) {
  test::ScriptedStream stream(std::move(wire), 5);
  auto info = co_await identify::receive(stream, remote);
  if (info.public_key) MP_FUZZ_CHECK(remote.matches(*info.public_key));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const BytesView message(data + 1, size - 1);
  PeerId remote = PeerId::from_public_key(fuzz::identity_key(2).public_key());
  pb::Identify parsed;
  const bool parses = parsed.ParseFromArray(message.data(), static_cast<int>(message.size()));
  if ((mode & 1) && parses && parsed.has_publickey()) {
    if (auto key = PublicKey::from_protobuf(as_bytes(parsed.publickey()))) {
      remote = PeerId::from_public_key(*key);
    }
  }
  auto info = identify::decode(message, remote);
  if (info) {
    MP_FUZZ_CHECK(parses);
    if (info->public_key) MP_FUZZ_CHECK(remote.matches(*info->public_key));
    MP_FUZZ_CHECK(info->listen_addrs.size() + info->invalid_addrs ==
                  static_cast<std::size_t>(parsed.listenaddrs_size()));
    if (info->public_key) {
      auto again = identify::decode(identify::encode(*info), remote);
      MP_FUZZ_CHECK(again.ok());
      MP_FUZZ_CHECK(again->listen_addrs == info->listen_addrs);
      MP_FUZZ_CHECK(again->protocols == info->protocols);
      MP_FUZZ_CHECK(again->agent_version == info->agent_version);
      MP_FUZZ_CHECK(again->observed_addr == info->observed_addr);
    }
  }
  if (mode & 2) {
    Bytes wire = varint::encode(message.size());
    append(wire, message);
    asio::io_context io;
    bool done = false;
    fuzz::spawn_checked(io, receive(std::move(wire), remote), &done);
    fuzz::poll_bounded(io, 100000);
    MP_FUZZ_CHECK(done);
  }
  return 0;
}

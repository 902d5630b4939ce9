// Kademlia requests (kad/protocol.hpp decode_message, kad/kademlia.hpp
// handle): what any peer may send on /ipfs/kad/1.0.0. A fresh Kademlia with
// a small routing table and small store limits per input; the input is a
// sequence of requests:
//   flags byte || { sender byte || varint(len) || Message protobuf }*
// flags bit 0: allow private addresses (so fuzzed loopback addresses count).
// flags bit 1: the same requests then go again, length-prefixed, through the
// stream glue (kad/server.hpp serve_stream) from the first sender.
// Senders are four fixed peers. Properties: every response encodes and
// decodes; closer peers never include the requester and are at most k; the
// stores stay within their limits; a stored provider is always its sender.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/varint.hpp"
#include "fuzz/drive.hpp"
#include "fuzz/fuzz_check.hpp"
#include "kad/kademlia.hpp"
#include "kad/protocol.hpp"
#include "kad/server.hpp"
#include "support/scripted_stream.hpp"

namespace {

using namespace mp;
using namespace mp::kad;

PeerId peer(std::uint8_t n) {
  Bytes mh(34, n);
  mh[0] = 0x12;
  mh[1] = 0x20;
  return PeerId::from_bytes(mh).value();
}

asio::awaitable<void> serve(Kademlia& kad, Bytes wire, PeerId remote) {
  auto stream = std::make_shared<test::ScriptedStream>(std::move(wire), 64);
  co_await serve_stream(kad, stream, remote);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  BytesView in(data + 1, size - 1);

  KadConfig cfg;
  cfg.k = 4;
  cfg.allow_private_addrs = flags & 1;
  cfg.max_addrs_per_peer = 4;
  cfg.records.max_records = 8;
  cfg.records.max_value_size = 2048;
  cfg.providers.max_providers_per_key = 2;
  cfg.providers.max_total_providers = 8;
  TimePoint now = TimePoint{} + std::chrono::hours(1000);
  Kademlia kad(peer(0), cfg, now);
  // A small routing table: 24 peers on public addresses.
  for (std::uint8_t i = 1; i <= 24; ++i) {
    auto addr = Multiaddr::parse("/ip4/" + std::to_string(20 + i) + ".1.2.3/tcp/4001").value();
    (void)kad.on_peer_identified(peer(static_cast<std::uint8_t>(i * 7)), {addr}, true, now);
  }
  const PeerId senders[4] = {peer(1), peer(2), peer(200), peer(0xff)};

  Message request, response;
  Bytes stream_input;  // the requests, length-prefixed, for the stream glue
  for (int n = 0; n < 32 && in.size() >= 2; ++n) {
    const PeerId& remote = senders[in[0] % 4];
    auto len = varint::decode(in.subspan(1));
    if (!len || len->value > in.size() - 1 - len->size) break;
    const BytesView body = in.subspan(1 + len->size, len->value);
    in = in.subspan(1 + len->size + len->value);
    now += std::chrono::minutes(in.empty() ? 1 : in[0] % 8);
    append(stream_input, varint::encode(body.size()));
    append(stream_input, body);
    if (!decode_message_into(body, request)) continue;
    const HandleResult r = kad.handle(remote, request, now, response);
    if (r.disposition != Disposition::kRespond) continue;
    const Bytes wire = encode_message(response);
    auto again = decode_message(wire);
    MP_FUZZ_CHECK(again.ok());
    MP_FUZZ_CHECK(static_cast<std::size_t>(response.closerpeers_size()) <= cfg.k + 1);
    for (const auto& p : response.closerpeers()) {
      MP_FUZZ_CHECK(
          as_bytes(p.id()).size() != remote.bytes().size() ||
          !std::equal(remote.bytes().begin(), remote.bytes().end(), as_bytes(p.id()).begin()));
    }
    MP_FUZZ_CHECK(kad.records().size() <= cfg.records.max_records);
    MP_FUZZ_CHECK(kad.providers().total() <= cfg.providers.max_total_providers);
  }
  if (flags & 2) {
    asio::io_context io;
    bool done = false;
    fuzz::spawn_checked(io, serve(kad, std::move(stream_input), senders[0]), &done);
    fuzz::poll_bounded(io, 100000);
    MP_FUZZ_CHECK(done);  // the scripted stream ends: so does serving it
  }
  MP_FUZZ_CHECK(kad.records().size() <= cfg.records.max_records);
  MP_FUZZ_CHECK(kad.providers().total() <= cfg.providers.max_total_providers);
  kad.expire(now + std::chrono::hours(100));
  return 0;
}

// Helpers shared by the kad unit tests: deterministic peers and addresses,
// and the record keys and value the server tests store.
#pragma once

#include <gtest/gtest.h>

#include <asio/awaitable.hpp>
#include <random>
#include <string>

#include "core/bytes.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "kad/config.hpp"
#include "kad/protocol.hpp"
#include "net/buffered_reader.hpp"
#include "net/byte_stream.hpp"

namespace mp::kad::test {

// A Peer ID with a random sha2-256 multihash (valid, not tied to a key).
inline PeerId random_peer(std::mt19937_64& rng) {
  Bytes mh(34);
  mh[0] = 0x12;
  mh[1] = 0x20;
  for (std::size_t i = 2; i < mh.size(); ++i) mh[i] = static_cast<std::uint8_t>(rng());
  auto id = PeerId::from_bytes(mh);
  EXPECT_TRUE(id.ok());
  return id.value();
}

inline Multiaddr addr(const std::string& text) {
  auto a = Multiaddr::parse(text);
  EXPECT_TRUE(a.ok()) << text << ": " << (a.ok() ? "" : a.message());
  return a.ok() ? a.value() : Multiaddr{};
}

// A public IPv4 address in /16 group `group` (< 15360), host `host` (< 65536).
inline Multiaddr public_addr(std::uint32_t group, std::uint32_t host = 1) {
  return addr("/ip4/" + std::to_string(20 + group / 256) + "." + std::to_string(group % 256) + "." +
              std::to_string(host / 256) + "." + std::to_string(host % 256) + "/tcp/4001");
}

// GCC 12 cannot use string literals inside coroutine lambdas ("array used
// as initializer"), so the test data lives here.
inline const Bytes kKeyX = to_bytes("/app/x");
inline const Bytes kValue = to_bytes("value");
inline const Bytes kBigKey = to_bytes("/app/big");

// A client that sends a frame that is no protobuf and reads the answer:
// the server resets the stream, so this throws.
inline asio::awaitable<void> send_malformed(net::ByteStream& s) {
  const Bytes garbage = {0xff, 0xff, 0xff, 0xff};
  net::BufferedReader r(s);
  co_await net::write_length_prefixed(s, garbage);
  (void)co_await r.read_length_prefixed(kMaxMessageSize);
}

inline TimePoint t0() { return TimePoint{} + std::chrono::hours(1000); }

}  // namespace mp::kad::test

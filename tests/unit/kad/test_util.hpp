// Helpers shared by the kad unit tests: deterministic peers and addresses.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "kad/config.hpp"

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

inline TimePoint t0() { return TimePoint{} + std::chrono::hours(1000); }

}  // namespace mp::kad::test

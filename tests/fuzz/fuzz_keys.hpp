// Fixed keys for fuzz targets: deterministic, so a saved crashing input
// replays exactly.
#pragma once
#include <cstdint>

#include "core/keys.hpp"

namespace mp::fuzz {

inline const Ed25519KeyPair& identity_key(std::uint8_t n = 1) {
  static const Ed25519KeyPair keys[4] = {Ed25519KeyPair::from_secret(Bytes(32, 1)).value(),
                                         Ed25519KeyPair::from_secret(Bytes(32, 2)).value(),
                                         Ed25519KeyPair::from_secret(Bytes(32, 3)).value(),
                                         Ed25519KeyPair::from_secret(Bytes(32, 4)).value()};
  return keys[n % 4];
}

}  // namespace mp::fuzz

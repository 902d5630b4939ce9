// Which identity the node runs with: PEER_ID_SEED (the Rust node's
// behaviour: Ed25519 secret = SHA-256(seed), so the same seed gives the same
// Peer ID) or a random key kept in DATA_DIR/identity.key (mode 0600).
#pragma once

#include "app/config.hpp"
#include "core/keys.hpp"
#include "core/result.hpp"

namespace mp::app {

Result<Ed25519KeyPair> node_identity(const Config& config);

}  // namespace mp::app

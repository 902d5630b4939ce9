// Which identity the node runs with: PEER_ID_SEED (the Rust node's
// behaviour: Ed25519 secret = SHA-256(seed), so the same seed gives the same
// Peer ID) or a random key kept in DATA_DIR/identity.key.
//
// The key file's contract: created once, mode 0600, never replaced. It is
// written to a private temporary file, fsynced and then linked into place
// (link(2) fails when the name exists), so a crash leaves either no key or a
// whole one, and two writers cannot both win. A key file that group or
// others may access is refused, as ssh refuses such a private key. Callers
// hold the DATA_DIR lock (DataDirLock) before calling node_identity().
#pragma once

#include <filesystem>
#include <string>
#include <variant>

#include "app/config.hpp"
#include "core/keys.hpp"
#include "core/result.hpp"

namespace mp::app {

// Exit code for a problem the operator must fix by hand (as bad configuration).
inline constexpr int kExitBadConfig = 2;

struct IdentityError {
  std::string message;  // one line
  int exit_code = 1;    // kExitBadConfig for a key file with a too-open mode
};

// PEER_ID_SEED, or DATA_DIR/identity.key loaded or created (logged).
// DATA_DIR must exist.
std::variant<Ed25519KeyPair, IdentityError> node_identity(const Config& config);

// Loads an existing key file. Refuses (kExitBadConfig) a file whose mode
// gives group or others any access, with the chmod to run.
std::variant<Ed25519KeyPair, IdentityError> load_identity_file(const std::filesystem::path& path);

// Creates a key file holding `key`; fails, leaving the existing file as it
// is, when `path` already exists.
Status create_identity_file(const std::filesystem::path& path, const Ed25519KeyPair& key);

}  // namespace mp::app

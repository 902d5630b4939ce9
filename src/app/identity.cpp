#include "app/identity.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

namespace mp::app {

Result<Ed25519KeyPair> node_identity(const Config& config) {
  if (config.peer_id_seed) {
    spdlog::warn("PEER_ID_SEED is set: the identity key is SHA-256 of the seed, so it is only as "
                 "secret as the seed string. Prefer the generated DATA_DIR/identity.key.");
    return Ed25519KeyPair::from_seed_string(*config.peer_id_seed);
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return make_error("cannot create DATA_DIR " + config.data_dir.string() + ": " + ec.message());
  const auto path = (config.data_dir / "identity.key").string();
  bool created = false;
  auto key = load_or_create_identity(path, &created);
  if (!key) return make_error("identity key " + path + ": " + key.message());
  if (created) spdlog::info("Generated a new identity key in {}", path);
  return key;
}

}  // namespace mp::app

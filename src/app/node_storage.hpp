// The peer store a node is built with (node_storage.cpp).
#pragma once

#include <memory>

#include "app/config.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"
#include "storage/peer_store.hpp"

namespace mp::app {

// The engine the Config names: PostgreSQL with DATABASE_URL (rows marked
// seen by `local`), else SQLite in DATA_DIR (whose lock the caller holds).
// An error says why it could not be opened.
Result<std::unique_ptr<storage::PeerStore>> open_peer_store(const Config& config, const PeerId& local);

}  // namespace mp::app

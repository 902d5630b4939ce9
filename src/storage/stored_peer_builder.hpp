// StoredPeerBuilder: turns the rows of dht_peers, in any order, into the
// StoredPeers load_peers returns (best first), whatever the engine. Pure.
//
// Rows with a bad peer id or multiaddr are skipped (the first few logged,
// then a summary) and counted; one peer spelled two ways (base58 and CID
// text) loads once; an address stored twice is kept once, from its best row;
// a last_seen ahead of `now` counts as now.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/peer_store.hpp"

namespace mp::storage {

class StoredPeerBuilder {
 public:
  explicit StoredPeerBuilder(std::int64_t now) : now_(now) {}

  void add(std::string_view peer, std::string_view addr, double reputation, std::int64_t last_seen);
  // Best first: reputation, then recency, then peer id.
  std::vector<StoredPeer> finish();
  std::uint64_t invalid() const { return invalid_; }
  std::size_t addresses() const { return n_addrs_; }

 private:
  struct Addr {
    Multiaddr addr;
    double reputation;
    std::int64_t last_seen;
  };
  struct Group {
    std::optional<PeerId> id;  // nullopt: invalid peer id, rows skipped
    std::vector<Addr> addrs;
  };
  void warn_invalid(std::string_view peer, std::string_view addr, const std::string& why);

  std::int64_t now_;
  std::vector<Group> groups_;
  std::unordered_map<std::string, std::size_t> index_;  // by peer_id text
  std::unordered_map<PeerId, std::size_t> by_id_;       // by parsed id
  std::uint64_t invalid_ = 0;
  std::size_t n_addrs_ = 0;
};

}  // namespace mp::storage

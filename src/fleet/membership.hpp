// Fleet membership and the pull cursor: the pure rules of fleet mode (issue
// 16), apart from the SQL (pg_fleet.hpp) and the network glue
// (fleet_service.hpp).
//
// A member is a row of bootstrap_nodes: its Peer ID, listen addresses, the
// release it runs, and its last heartbeat. Heartbeats and "now" are both
// the database's clock (pg_fleet.cpp), so the members' clocks may disagree
// without making anyone look gone. A member whose heartbeat is older than
// kMissedHeartbeatsGone intervals is gone.
//
// Sharing follows dht_peers.change_seq (a sequence, not a wall clock): each
// pull asks for rows with change_seq > the cursor, in order, at most a
// batch; the cursor moves to the last row seen.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/peer_id.hpp"

namespace mp::fleet {

inline constexpr int kMissedHeartbeatsGone = 3;
// Addresses kept per member row (the row is ours to write, but a table any
// member can write is still input: bound it).
inline constexpr std::size_t kMaxMemberAddrs = 16;

struct Member {
  std::string peer_id;             // base58
  std::vector<std::string> addrs;  // multiaddr text, /p2p/<id> included
  std::string version;
  std::int64_t heartbeat_ms = 0;  // database clock
  std::int64_t started_ms = 0;
};

// Alive: the last heartbeat is at most kMissedHeartbeatsGone intervals old.
bool is_alive(const Member& m, std::int64_t now_ms, std::chrono::milliseconds heartbeat);

// The alive members of `rows`, sorted by Peer ID.
std::vector<Member> alive_members(std::vector<Member> rows, std::int64_t now_ms,
                                  std::chrono::milliseconds heartbeat);

// bootstrap_nodes.addrs: the addresses separated by single spaces
// (multiaddrs hold none). split_addrs keeps at most kMaxMemberAddrs.
std::string join_addrs(const std::vector<std::string>& addrs);
std::vector<std::string> split_addrs(std::string_view text);

// Where the next pull starts. `batch` rows at most per pull; a full batch
// means more may be waiting (pull again at once, within a bound).
class PullCursor {
 public:
  explicit PullCursor(std::size_t batch = 1'000) : batch_(batch) {}
  std::int64_t after() const { return last_seq_; }
  std::size_t batch() const { return batch_; }
  // Start past what the node already loaded (the table's MAX(change_seq) when first connected).
  void start_at(std::int64_t seq);
  bool started() const { return started_; }
  // A pull returned `rows` rows, the last with change_seq `last_seq`.
  // Returns true when the batch was full (more may be waiting).
  bool advance(std::size_t rows, std::int64_t last_seq);

 private:
  std::size_t batch_;
  std::int64_t last_seq_ = 0;
  bool started_ = false;
};

// Sharding of the verification dials (warm start, re-verification): the
// stored peer is dialled by the alive member whose Kademlia key
// (kad::Key::raw(), SHA-256 of the Peer ID) is XOR-closest to the peer's, so
// N members dial each peer once; when a member goes away its peers fall to
// the members next closest. Keys compare as 256-bit big-endian numbers.
using KeyBytes = std::array<std::uint8_t, 32>;
// Index into `members` of the owner of `peer`; members.size() when empty.
std::size_t shard_owner(const KeyBytes& peer, const std::vector<KeyBytes>& members);

}  // namespace mp::fleet

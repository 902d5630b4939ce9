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
// pull asks for rows with change_seq > the frontier, in order, at most a
// batch, and re-reads a bounded window behind it for rows whose transaction
// committed late (PullWindow).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
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

// Where the next pull starts, and the late-commit window behind it.
//
// change_seq is taken from a sequence when a row is written, but rows
// become visible when their transaction commits: a transaction holding seq
// 10 may commit after one holding seq 11 was already pulled. A plain "> the
// last seq pulled" cursor would skip row 10 for ever. So each pull reads
// two things in one snapshot: the window (low, frontier] again (rows
// committed late; the seqs already delivered are skipped) and the new rows
// past the frontier, `batch` at a time.
//
// The window closes behind transactions that are over: every writer takes
// its transaction id before any change_seq (PgPeerStore::write_batch), so
// the rows with seq <= the frontier of pull j were all written by
// transactions whose ids are at most that pull's own id N_j (taken after
// its snapshot). Once a later snapshot's xmin passes N_j, all of them have
// committed or aborted and are in that snapshot: low moves to frontier_j.
// Bounded: a transaction left open on the database holds xmin back, so the
// window is cut at kMaxLateWindow seqs and kMaxPendingPulls pulls (counted
// in cuts(); a row later than that is missed, as before the window).
inline constexpr std::int64_t kMaxLateWindow = 20'000;
inline constexpr std::size_t kMaxPendingPulls = 64;

class PullWindow {
 public:
  explicit PullWindow(std::size_t batch = 1'000, std::int64_t max_window = kMaxLateWindow)
      : batch_(batch), max_window_(max_window) {}
  // Start past what the node already loaded (the table's MAX(change_seq) when first connected).
  void start_at(std::int64_t seq);
  // The same, with the late-commit window already open behind `seq`: a
  // transaction that took a lower change_seq may still be running when we
  // first connect. `visible` are the seqs in (seq - max_window, seq] the
  // first snapshot saw (loaded, not news); any other seq in that range that
  // commits later is delivered. `xid`/`xmin` are that snapshot's, as for
  // finish_pull: the window closes once every writer it saw running is over.
  void start_behind(std::int64_t seq, const std::vector<std::int64_t>& visible,
                    std::uint64_t xid, std::uint64_t xmin);
  bool started() const { return started_; }
  std::size_t batch() const { return batch_; }
  // Re-read change_seq in (low, frontier]; new rows are change_seq > frontier.
  std::int64_t low() const { return low_; }
  std::int64_t frontier() const { return frontier_; }
  // A row read by the pull (window or new). True when it was not delivered
  // before: deliver it.
  bool take(std::int64_t seq);
  // A new-rows query returned `rows` rows: a full batch means more may wait.
  bool full(std::size_t rows) const { return rows >= batch_; }
  // The pull's transaction id (pg_current_xact_id(), taken after its
  // snapshot) and its snapshot's xmin; call once the pull's rows are taken.
  void finish_pull(std::uint64_t pull_xid, std::uint64_t snapshot_xmin);
  std::size_t window_seqs() const { return seen_.size(); }
  std::uint64_t cuts() const { return cuts_; }

 private:
  void move_low(std::int64_t to);
  struct Pending {
    std::uint64_t xid;
    std::int64_t frontier;
  };
  std::size_t batch_;
  std::int64_t max_window_;
  std::int64_t low_ = 0;
  std::int64_t frontier_ = 0;
  bool started_ = false;
  std::set<std::int64_t> seen_;  // delivered seqs in (low, frontier]
  std::deque<Pending> pending_;   // pulls whose transactions may still be open
  std::uint64_t cuts_ = 0;
};

// Sharding of the verification dials (warm start, re-verification): the
// stored peer is dialled by the alive member whose Kademlia key
// (kad::Key::raw(), SHA-256 of the Peer ID) is XOR-closest to the peer's, so
// N members dial each peer once; when a member goes away its peers fall to
// the members next closest. Keys compare as 256-bit big-endian numbers.
using KeyBytes = std::array<std::uint8_t, 32>;
// Index into `members` of the owner of `peer`; members.size() when empty.
std::size_t shard_owner(const KeyBytes& peer, const std::vector<KeyBytes>& members);
// The Kademlia key of a Peer ID (SHA-256 of its bytes, as kad::Key::from_peer).
KeyBytes shard_key(const PeerId& peer);

// One member's share of the verification dials. The alive members change
// with each heartbeat; owns() answers for the latest. Alone, or while the
// fleet is down or has not listed us yet, we own every peer: nobody else
// would dial them.
class VerificationShard {
 public:
  explicit VerificationShard(const PeerId& self) : self_(shard_key(self)) {}
  // The alive members' Peer IDs (base58, us included); unparsable ones are left out.
  void set_members(const std::vector<std::string>& peer_ids);
  bool owns(const KeyBytes& peer) const;
  bool owns(const PeerId& peer) const { return owns(shard_key(peer)); }
  // Members sharing the work (1 when we own everything).
  std::size_t sharing() const { return all_ ? 1 : members_.size(); }

 private:
  KeyBytes self_;
  std::vector<KeyBytes> members_;
  std::size_t self_index_ = 0;
  bool all_ = true;
};

}  // namespace mp::fleet

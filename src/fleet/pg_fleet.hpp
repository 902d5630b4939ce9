// PgFleet: fleet mode's side of PostgreSQL (issue 16), on its own thread
// and its own connection, so the network thread never waits on it and the
// peer store's writer is never held up.
//
// Every `heartbeat`: upsert our row of bootstrap_nodes (heartbeat_ms and
// started_ms from the database's clock; the addresses last given to
// set_addrs, so the row follows the node's listen and observed addresses), delete rows silent for a day, read
// the members (at most kMaxMembers) and report the alive ones (membership.hpp).
// Every `pull`, and at once when PostgreSQL delivers NOTIFY mepassa_peers
// (sent by PgPeerStore after each batch with upserts): in one REPEATABLE
// READ snapshot, read the dht_peers rows another node wrote (seen_by <> us)
// that committed late in the window behind the frontier, then those past
// it in change_seq order, `pull_batch` rows at most per query and
// kMaxBatchesPerPull queries per round (membership.hpp, PullWindow), and
// report them as StoredPeers.
// The cursor starts at the table's MAX(change_seq) when first connected: what
// was there before came through PeerStore::load_peers.
//
// Reports are callbacks on this thread (the caller posts them on). A lost
// connection is counted, and reconnected after retry_interval; stop() waits
// for the thread (at most one query and kMaxWait).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fleet/membership.hpp"
#include "storage/peer_store.hpp"

#include <pqxx/connection>  // libpqxx 6.4: pqxx::connection is a typedef

namespace mp::fleet {

inline constexpr std::size_t kMaxMembers = 1'000;
inline constexpr std::size_t kMaxBatchesPerPull = 10;
inline constexpr std::chrono::milliseconds kMaxWait{250};
inline constexpr const char* kNotifyChannel = "mepassa_peers";

struct PgFleetConfig {
  std::string url;  // libpq URL or key=value string
  std::string self;  // our Peer ID, base58 (dht_peers.seen_by)
  std::vector<std::string> addrs;  // ours, with /p2p/<id>
  std::string version;
  std::chrono::milliseconds heartbeat{5'000};
  std::chrono::milliseconds pull{2'000};
  std::size_t pull_batch = 1'000;
  std::chrono::milliseconds retry_interval{2'000};
  std::chrono::seconds connect_timeout{5};
  // On the fleet's thread.
  std::function<void(std::vector<Member>)> on_members;  // alive, us included; empty when the database is lost
  std::function<void(std::vector<storage::StoredPeer>)> on_pulled;
};

// Monotonic unless marked as a gauge; readable from any thread.
struct FleetCounters {
  std::atomic<std::uint64_t> members_alive{0};  // gauge, us included
  std::atomic<std::int64_t> last_pull_ms{0};    // gauge: Unix ms of the last successful pull
  std::atomic<std::uint64_t> pulls{0};
  std::atomic<std::uint64_t> pulled_rows{0};
  std::atomic<std::uint64_t> pulled_peers{0};
  std::atomic<std::uint64_t> late_rows{0};    // rows that committed after a later seq was pulled
  std::atomic<std::uint64_t> window_cuts{0};  // late-commit window cut short (PullWindow)
  std::atomic<std::uint64_t> notifications{0};
  std::atomic<std::uint64_t> heartbeats{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<bool> connected{false};
};

class PgFleet {
 public:
  explicit PgFleet(PgFleetConfig config);
  ~PgFleet();  // stop()
  PgFleet(const PgFleet&) = delete;
  PgFleet& operator=(const PgFleet&) = delete;

  void start();
  void stop();  // idempotent
  // Wakes the thread for a heartbeat and a pull now (tests, start-up).
  void poke();
  // Our addresses as they are now (listen and observed ones change): the
  // next heartbeat writes them into our row. Any thread.
  void set_addrs(const std::vector<std::string>& addrs);
  const FleetCounters& counters() const { return counters_; }

 private:
  void run();
  void pull(pqxx::connection& conn, PullWindow& window);  // one round; throws pqxx errors
  // The first connect: the cursor and the window behind it (throws pqxx errors).
  void start_window(pqxx::connection& conn, PullWindow& window);
  bool wait_for(std::chrono::milliseconds d);  // false: stopping

  PgFleetConfig config_;
  std::string conn_string_;
  FleetCounters counters_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool poked_ = false;
  std::string addrs_;  // join_addrs of the latest set_addrs; guarded by mu_
  std::thread thread_;
};

}  // namespace mp::fleet

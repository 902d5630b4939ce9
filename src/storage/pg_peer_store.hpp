// PgPeerStore: PeerStore on PostgreSQL 15 (DATABASE_URL), through libpqxx.
// Same contract and the same batching writer as SqlitePeerStore
// (batching_peer_store.hpp); the schema is pg_schema.hpp (the seed's columns,
// reputation, seen_by and change_seq).
//
// Writes: each batch is one transaction; its upserts are ONE statement
// (INSERT ... SELECT FROM unnest($1::text[], ...) ON CONFLICT DO UPDATE),
// rows sorted by key so that nodes sharing the table lock rows in the same
// order. Removals and reputation changes, when the batch has any, are one
// statement each of the same shape; then the caps. A batch with upserts
// ends with NOTIFY mepassa_peers (the fleet's wake-up, fleet/pg_fleet.hpp).
//
// Faults: PostgreSQL down at start: open() still succeeds, the store is
// empty (load_peers fails, the node starts with an empty table), the writer
// reconnects in the background on the retry schedule (1 s doubling to 30 s)
// and counters().failing says so (/health: DEGRADED). Down while running:
// updates keep queueing up to queue_capacity (beyond: refused and counted),
// and are written once it is back. A connection lost mid-batch (or at
// commit) fails the transaction; the batch goes back to the queue and is
// retried whole on a new connection. The stored peers a failed start could
// not load are handed over once it is back (set_deferred_load_handler). The URL's password is never logged
// (redact_database_url).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "storage/batching_peer_store.hpp"

#include <pqxx/connection>  // libpqxx 6.4: pqxx::connection is a typedef

namespace mp::storage {

struct PgPeerStoreConfig {
  std::string url;      // libpq URL or key=value string (DATABASE_URL)
  std::string seen_by;  // our Peer ID, written on every upsert
  BatchSettings batch;
  std::int64_t stale_after_secs = kStableWindowSecs;
  std::size_t max_addrs_per_peer = 16;
  std::size_t max_rows = 500'000;
  // Added to the URL as connect_timeout unless it names one: a host that
  // drops packets must not hold the start or the writer for long.
  std::chrono::seconds connect_timeout{5};
  // Tests: called on the writer thread inside each batch's transaction,
  // before COMMIT, with the backend's process id.
  std::function<void(int backend_pid)> before_commit;
};

// The URL with any password replaced by "***" (URL userinfo and
// password=... parameters alike): the only form of it we log.
std::string redact_database_url(const std::string& url);

class PgPeerStore final : public BatchingPeerStore {
 public:
  // Connects, migrates, garbage-collects and starts the writer. Fails only
  // on what retrying cannot fix (a schema from a newer release); an
  // unreachable server starts the store unavailable (see above).
  static Result<std::unique_ptr<PgPeerStore>> open(PgPeerStoreConfig config);

  ~PgPeerStore() override;
  PgPeerStore(const PgPeerStore&) = delete;
  PgPeerStore& operator=(const PgPeerStore&) = delete;

  Result<std::vector<StoredPeer>> load_peers() override;
  void set_deferred_load_handler(std::function<void(std::vector<StoredPeer>)> handler) override;
  Result<StorageStats> get_stats() override;
  Status close() override;

 private:
  explicit PgPeerStore(PgPeerStoreConfig config);
  std::unique_ptr<pqxx::connection> connect() const;
  void connect_writer();  // connect, migrate, prepare; throws
  void start_up_collect();
  std::uint64_t write_batch(const std::vector<RowUpdate>& rows, std::size_t begin, std::size_t end,
                            std::int64_t now) override;
  MaintenanceReport maintain_rows(const std::vector<PeerId>& connected, std::int64_t now) override;
  std::uint64_t collect_rows(std::int64_t cutoff, std::int64_t now) override;
  StorageStats read_writer_stats() override;
  void reconnect() override;
  // Runs `fn` on the writer connection; a lost connection marks the store
  // unavailable (the writer reconnects) before the error goes up.
  template <typename Fn>
  auto on_writer(Fn&& fn);
  pqxx::connection& reader();
  // Writer thread: after a reconnect or a committed batch, the load a
  // failed load_peers() owes the node (set_deferred_load_handler).
  void run_deferred_load();

  PgPeerStoreConfig config_;
  std::string conn_string_;  // url + connect_timeout
  std::string redacted_;
  std::unique_ptr<pqxx::connection> writer_;  // writer thread only
  std::uint64_t rows_estimate_ = 0;           // writer thread only

  std::mutex read_mu_;  // guards reader_, closed_ and the deferred load
  std::unique_ptr<pqxx::connection> reader_;
  bool closed_ = false;
  bool load_deferred_ = false;  // a load_peers() failed; none succeeded since
  std::function<void(std::vector<StoredPeer>)> deferred_handler_;
};

}  // namespace mp::storage

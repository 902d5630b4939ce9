#include "storage/pg_peer_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <pqxx/pqxx>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "storage/pg_schema.hpp"
#include "storage/stored_peer_builder.hpp"

namespace mp::storage {
namespace {

using Clock = std::chrono::steady_clock;
// A last_seen up to this far ahead of our clock is clamped to now; further
// ahead the row is collected (as SqlitePeerStore).
constexpr std::int64_t kMaxClockSkewSecs = 24 * 60 * 60;
// Rows fetched per round trip at load.
constexpr int kLoadFetchRows = 20'000;

// PostgreSQL array literal of texts: {"a","b"}, with " and \ escaped.
class TextArray {
 public:
  void add(std::string_view v) {
    s_ += s_.size() == 1 ? "\"" : ",\"";
    for (char c : v) {
      if (c == '"' || c == '\\') s_ += '\\';
      s_ += c;
    }
    s_ += '"';
  }
  std::string str() const { return s_ + "}"; }
  bool empty() const { return s_.size() == 1; }

 private:
  std::string s_ = "{";
};

// Array literal of numbers or booleans: {1,2,3}.
class ValueArray {
 public:
  template <typename T>
  void add(T v) {
    if (s_.size() > 1) s_ += ',';
    if constexpr (std::is_same_v<T, bool>) {
      s_ += v ? 't' : 'f';
    } else {
      s_ += std::to_string(v);
    }
  }
  std::string str() const { return s_ + "}"; }

 private:
  std::string s_ = "{";
};

// Statements prepared on each writer connection.
void prepare(pqxx::connection& c) {
  // first_seen is set once, by the INSERT; a conflict moves last_seen
  // forward, never past now ($5), and stamps seen_by and a new change_seq.
  // RETURNING (xmax = 0) is true for inserted rows (rows_estimate, caps).
  c.prepare("upsert", R"(
    INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen, seen_by)
    SELECT u.peer_id, u.multiaddr, u.seen, u.seen, $4
    FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(peer_id, multiaddr, seen)
    ON CONFLICT (peer_id, multiaddr) DO UPDATE SET
      last_seen = LEAST(GREATEST(dht_peers.last_seen, EXCLUDED.last_seen), $5::bigint),
      seen_by = EXCLUDED.seen_by,
      change_seq = nextval('dht_peers_change_seq')
    RETURNING peer_id, (xmax = 0))");
  c.prepare("remove", R"(
    DELETE FROM dht_peers d USING unnest($1::text[], $2::text[]) AS u(peer_id, multiaddr)
    WHERE d.peer_id = u.peer_id AND d.multiaddr = u.multiaddr)");
  // Applied after the upsert, in the order the queue folds them: a success
  // lifts the row to at least $3, then each failure costs $4, floor $5.
  c.prepare("reputation_rows", R"(
    UPDATE dht_peers d SET
      reputation = GREATEST($5::float8,
        CASE WHEN u.success THEN GREATEST(d.reputation, $3::float8) ELSE d.reputation END
          - $4::float8 * u.failures),
      change_seq = nextval('dht_peers_change_seq')
    FROM unnest($1::text[], $2::text[], $6::bool[], $7::int[]) AS u(peer_id, multiaddr, success, failures)
    WHERE d.peer_id = u.peer_id AND d.multiaddr = u.multiaddr)");
  c.prepare("reputation_peers", R"(
    UPDATE dht_peers d SET
      reputation = GREATEST($3::float8, d.reputation - $4::float8 * u.failures),
      change_seq = nextval('dht_peers_change_seq')
    FROM unnest($1::text[], $2::int[]) AS u(peer_id, failures)
    WHERE d.peer_id = u.peer_id)");
  // Keeps the best $2 rows of each peer in $1.
  c.prepare("cap_peers", R"(
    DELETE FROM dht_peers d USING (
      SELECT peer_id, multiaddr, row_number() OVER (
        PARTITION BY peer_id ORDER BY reputation DESC, last_seen DESC) AS rn
      FROM dht_peers WHERE peer_id = ANY($1::text[])) r
    WHERE d.peer_id = r.peer_id AND d.multiaddr = r.multiaddr AND r.rn > $2)");
  c.prepare("evict", R"(
    DELETE FROM dht_peers WHERE ctid IN (
      SELECT ctid FROM dht_peers ORDER BY reputation ASC, last_seen ASC LIMIT $1))");
  c.prepare("stats", R"(
    SELECT COUNT(*), COALESCE(SUM(n), 0), COUNT(*) FILTER (WHERE newest < $1) FROM (
      SELECT COUNT(*) AS n, MAX(last_seen) AS newest FROM dht_peers GROUP BY peer_id) t)");
}

bool connection_lost(const std::exception& e) {
  return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
         dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr;
}

StorageStats stats_of(pqxx::transaction_base& tx, std::int64_t stale_before) {
  pqxx::result r = tx.exec_prepared("stats", stale_before);
  StorageStats s;
  s.total_peers = r[0][0].as<std::uint64_t>();
  s.total_addresses = r[0][1].as<std::uint64_t>();
  s.stale_peers = r[0][2].as<std::uint64_t>();
  return s;
}

std::uint64_t count_rows(pqxx::transaction_base& tx) {
  return tx.exec("SELECT COUNT(*) FROM dht_peers")[0][0].as<std::uint64_t>();
}

}  // namespace

std::string redact_database_url(const std::string& url) {
  std::string out = url;
  // scheme://user:password@host...
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    const std::size_t start = scheme + 3;
    std::size_t end = out.find_first_of("/?", start);
    if (end == std::string::npos) end = out.size();
    const std::size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      const std::size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... in a query string or a key=value string.
  for (std::size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    const std::size_t v = pos + 9;
    std::size_t end = out.find_first_of("& ", v);
    if (end == std::string::npos) end = out.size();
    out.replace(v, end - v, "***");
  }
  return out;
}

PgPeerStore::PgPeerStore(PgPeerStoreConfig config)
    : BatchingPeerStore(config.batch), config_(std::move(config)) {
  conn_string_ = config_.url;
  if (conn_string_.find("connect_timeout") == std::string::npos) {
    const bool is_url = conn_string_.find("://") != std::string::npos;
    const char* sep = !is_url ? " " : conn_string_.find('?') == std::string::npos ? "?" : "&";
    conn_string_ += sep + std::string("connect_timeout=") +
                    std::to_string(config_.connect_timeout.count());
  }
  redacted_ = redact_database_url(config_.url);
}

PgPeerStore::~PgPeerStore() { (void)close(); }

std::unique_ptr<pqxx::connection> PgPeerStore::connect() const {
  return std::make_unique<pqxx::connection>(conn_string_);
}

void PgPeerStore::connect_writer() {
  auto c = connect();
  pg_migrate(*c);
  prepare(*c);
  {
    pqxx::read_transaction tx(*c);
    rows_estimate_ = count_rows(tx);
  }
  writer_ = std::move(c);
}

Result<std::unique_ptr<PgPeerStore>> PgPeerStore::open(PgPeerStoreConfig config) {
  std::unique_ptr<PgPeerStore> store(new PgPeerStore(std::move(config)));
  PgPeerStore& s = *store;
  spdlog::info("Opening DHT storage in PostgreSQL at {}", s.redacted_);
  try {
    s.connect_writer();
    s.start_up_collect();
    s.set_stats(s.read_writer_stats());
    spdlog::info("DHT storage ready (PostgreSQL)");
  } catch (const pqxx::failure& e) {
    // Unreachable, refused, or an SQL error the operator can fix (rights):
    // serve without it and keep trying.
    s.writer_.reset();
    s.note_failure("connection to " + s.redacted_, e);
    s.set_available(false);
    spdlog::warn("Starting with an empty peer store; reconnecting to {} in the background",
                 s.redacted_);
  } catch (const std::exception& e) {
    // A schema from a newer release: retrying cannot help.
    return make_error("cannot open peer store " + s.redacted_ + ": " + e.what());
  }
  s.start_writer();
  return store;
}

void PgPeerStore::start_up_collect() {
  // Start: garbage-collect first, so stale rows are never loaded; caps may
  // have been lowered since the last run.
  const std::int64_t t = now();
  const std::uint64_t n = collect_rows(t - config_.batch.peer_max_age_secs, t);
  counters_.rows_collected.fetch_add(n, std::memory_order_relaxed);
  spdlog::info("Cleaned up {} stale peer records (older than {}s)", n,
               config_.batch.peer_max_age_secs);
  if (rows_estimate_ > config_.max_rows) {
    pqxx::work tx(*writer_);
    const std::uint64_t target = config_.max_rows - config_.max_rows / 20;
    const std::uint64_t evicted =
        tx.exec_prepared("evict", static_cast<std::int64_t>(rows_estimate_ - target)).affected_rows();
    tx.commit();
    rows_estimate_ -= std::min(rows_estimate_, evicted);
    counters_.rows_evicted.fetch_add(evicted, std::memory_order_relaxed);
    spdlog::info("Evicted {} peer records over the storage caps", evicted);
  }
}

void PgPeerStore::reconnect() {
  connect_writer();
  spdlog::info("Reconnected to the peer store database {}", redacted_);
  run_deferred_load();
}

void PgPeerStore::set_deferred_load_handler(std::function<void(std::vector<StoredPeer>)> handler) {
  std::lock_guard lk(read_mu_);
  deferred_handler_ = std::move(handler);
}

void PgPeerStore::run_deferred_load() {
  std::function<void(std::vector<StoredPeer>)> handler;
  {
    std::lock_guard lk(read_mu_);
    if (!load_deferred_ || !deferred_handler_ || closed_) return;
    handler = deferred_handler_;
  }
  auto peers = load_peers();  // success clears load_deferred_: once only
  if (!peers) return;         // tried again after the next reconnect or batch
  spdlog::info("Stored peers loaded after the database came back");
  handler(std::move(*peers));
}

template <typename Fn>
auto PgPeerStore::on_writer(Fn&& fn) {
  if (!writer_) {
    throw pqxx::broken_connection("no connection to the peer store database");
  }
  try {
    return fn(*writer_);
  } catch (const std::exception& e) {
    if (connection_lost(e) || !writer_->is_open()) {
      writer_.reset();
      set_available(false);
    }
    throw;
  }
}

std::uint64_t PgPeerStore::write_batch(const std::vector<RowUpdate>& rows, std::size_t begin,
                                       std::size_t end, std::int64_t t_now) {
  // Key order: two nodes writing overlapping batches lock rows in the same
  // order, so they wait for each other instead of deadlocking.
  std::vector<std::size_t> order(end - begin);
  std::iota(order.begin(), order.end(), begin);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (rows[a].peer_id != rows[b].peer_id) return rows[a].peer_id < rows[b].peer_id;
    return rows[a].multiaddr < rows[b].multiaddr;
  });
  TextArray up_peer, up_addr, rm_peer, rm_addr, rep_peer, rep_addr, wide_peer;
  ValueArray up_seen, rep_success, rep_failures, wide_failures;
  std::size_t n_up = 0, n_rm = 0, n_rep = 0, n_wide = 0;
  for (std::size_t i : order) {
    const RowUpdate& u = rows[i];
    if (u.multiaddr.empty()) {
      if (u.dial_failures > 0) {
        wide_peer.add(u.peer_id);
        wide_failures.add(static_cast<std::int64_t>(u.dial_failures));
        ++n_wide;
      }
      continue;
    }
    if (u.remove) {
      rm_peer.add(u.peer_id);
      rm_addr.add(u.multiaddr);
      ++n_rm;
    }
    if (u.seen > 0) {
      up_peer.add(u.peer_id);
      up_addr.add(u.multiaddr);
      up_seen.add(std::min(u.seen, t_now));
      ++n_up;
    }
    if (u.dial_success || u.dial_failures > 0) {
      rep_peer.add(u.peer_id);
      rep_addr.add(u.multiaddr);
      rep_success.add(u.dial_success);
      rep_failures.add(static_cast<std::int64_t>(u.dial_failures));
      ++n_rep;
    }
  }
  const std::uint64_t evicted_rows = on_writer([&](pqxx::connection& c) {
    pqxx::work tx(c);
    // Our transaction id before any change_seq: the fleet's late-commit
    // window relies on it (fleet/membership.hpp, PullWindow).
    if (n_up > 0 || n_rep > 0 || n_wide > 0) tx.exec("SELECT pg_current_xact_id()");
    std::uint64_t inserted = 0, removed = 0, evicted = 0;
    std::unordered_set<std::string> grown;
    if (n_rm > 0) removed = tx.exec_prepared("remove", rm_peer.str(), rm_addr.str()).affected_rows();
    if (n_up > 0) {
      pqxx::result r = tx.exec_prepared("upsert", up_peer.str(), up_addr.str(), up_seen.str(),
                                        config_.seen_by, t_now);
      for (const auto& row : r) {
        if (row[1].as<bool>()) {
          ++inserted;
          grown.insert(row[0].c_str());
        }
      }
    }
    if (n_rep > 0) {
      tx.exec_prepared("reputation_rows", rep_peer.str(), rep_addr.str(), kReputationDefault,
                       kReputationDialFailurePenalty, kReputationFloor, rep_success.str(),
                       rep_failures.str());
    }
    if (n_wide > 0) {
      tx.exec_prepared("reputation_peers", wide_peer.str(), wide_failures.str(), kReputationFloor,
                       kReputationDialFailurePenalty);
    }
    std::uint64_t estimate = rows_estimate_ + inserted - std::min(rows_estimate_ + inserted, removed);
    if (!grown.empty()) {
      TextArray peers;
      for (const auto& p : grown) peers.add(p);
      evicted += tx.exec_prepared("cap_peers", peers.str(),
                                  static_cast<std::int64_t>(config_.max_addrs_per_peer))
                     .affected_rows();
    }
    estimate -= std::min(estimate, evicted);
    if (estimate > config_.max_rows) {
      estimate = count_rows(tx);
      if (estimate > config_.max_rows) {
        const std::uint64_t target = config_.max_rows - config_.max_rows / 20;
        const std::uint64_t n =
            tx.exec_prepared("evict", static_cast<std::int64_t>(estimate - target)).affected_rows();
        evicted += n;
        estimate -= std::min(estimate, n);
      }
    }
    // Fleet members LISTEN on this channel (fleet/pg_fleet.hpp): delivered
    // at COMMIT, once per transaction, so they pull the new rows at once.
    if (n_up > 0) tx.exec("NOTIFY mepassa_peers");
    if (config_.before_commit) config_.before_commit(c.backendpid());
    tx.commit();
    rows_estimate_ = estimate;  // only once committed: a failed batch changed nothing
    return evicted;
  });
  // The reader may have failed at start while the writer stayed connected.
  run_deferred_load();
  return evicted_rows;
}

std::uint64_t PgPeerStore::collect_rows(std::int64_t cutoff, std::int64_t t_now) {
  return on_writer([&](pqxx::connection& c) {
    pqxx::work tx(c);
    const std::uint64_t n =
        tx.exec_params("DELETE FROM dht_peers WHERE last_seen < $1 OR last_seen > $2", cutoff,
                       t_now + kMaxClockSkewSecs)
            .affected_rows();
    tx.exec_params("UPDATE dht_peers SET last_seen = $1 WHERE last_seen > $1", t_now);
    tx.commit();
    rows_estimate_ -= std::min(rows_estimate_, n);
    return n;
  });
}

MaintenanceReport PgPeerStore::maintain_rows(const std::vector<PeerId>& connected, std::int64_t t) {
  MaintenanceReport r;
  r.rows_collected = collect_rows(t - config_.batch.peer_max_age_secs, t);
  return on_writer([&](pqxx::connection& c) {
    pqxx::work tx(c);
    // The seed's "periodic sync": connected peers are alive now.
    if (!connected.empty()) {
      TextArray peers;
      for (const PeerId& p : connected) peers.add(p.to_base58());
      r.peers_touched = tx.exec_params(
                              "UPDATE dht_peers SET last_seen = $2, seen_by = $3 "
                              "WHERE peer_id = ANY($1::text[])",
                              peers.str(), t, config_.seen_by)
                            .affected_rows();
    }
    // The seed's rule: seen within the last day gains the stable bonus.
    // Local ageing: it does not move change_seq.
    r.rows_promoted = tx.exec_params(
                            "UPDATE dht_peers SET reputation = LEAST($2::float8, reputation + $3::float8) "
                            "WHERE last_seen > $1 AND last_seen <= $4 AND reputation < $2::float8",
                            t - kStableWindowSecs, kReputationMax, kReputationStableBonus, t)
                          .affected_rows();
    std::uint64_t estimate = count_rows(tx);
    if (estimate > config_.max_rows) {
      const std::uint64_t target = config_.max_rows - config_.max_rows / 20;
      r.rows_evicted =
          tx.exec_prepared("evict", static_cast<std::int64_t>(estimate - target)).affected_rows();
      estimate -= std::min(estimate, r.rows_evicted);
    }
    tx.commit();
    rows_estimate_ = estimate;
    return r;
  });
}

StorageStats PgPeerStore::read_writer_stats() {
  return on_writer([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return stats_of(tx, now() - config_.stale_after_secs);
  });
}

// ---------------------------------------------------------------- reads

pqxx::connection& PgPeerStore::reader() {
  if (!reader_ || !reader_->is_open()) {
    reader_ = connect();
    reader_->prepare("stats", R"(
      SELECT COUNT(*), COALESCE(SUM(n), 0), COUNT(*) FILTER (WHERE newest < $1) FROM (
        SELECT COUNT(*) AS n, MAX(last_seen) AS newest FROM dht_peers GROUP BY peer_id) t)");
  }
  return *reader_;
}

Result<StorageStats> PgPeerStore::get_stats() {
  std::lock_guard lk(read_mu_);
  if (closed_) return make_error("peer store is closed");
  try {
    pqxx::read_transaction tx(reader());
    return stats_of(tx, now() - config_.stale_after_secs);
  } catch (const std::exception& e) {
    reader_.reset();
    return make_error(std::string("cannot read storage stats: ") + e.what());
  }
}

Result<std::vector<StoredPeer>> PgPeerStore::load_peers() {
  const auto t0 = Clock::now();
  StoredPeerBuilder builder(now());
  {
    std::lock_guard lk(read_mu_);
    if (closed_) return make_error("peer store is closed");
    try {
      // A cursor: the whole table never sits in libpq's memory at once.
      pqxx::read_transaction tx(reader());
      tx.exec("DECLARE load_peers NO SCROLL CURSOR FOR "
              "SELECT peer_id, multiaddr, reputation, last_seen FROM dht_peers");
      const std::string fetch = "FETCH " + std::to_string(kLoadFetchRows) + " FROM load_peers";
      while (true) {
        pqxx::result r = tx.exec(fetch);
        if (r.empty()) break;
        for (const auto& row : r) {
          builder.add(std::string_view(row[0].c_str(), row[0].size()),
                      std::string_view(row[1].c_str(), row[1].size()), row[2].as<double>(),
                      row[3].as<std::int64_t>());
        }
      }
    } catch (const std::exception& e) {
      reader_.reset();
      load_deferred_ = true;
      return make_error(std::string("cannot load stored peers from ") + redacted_ + ": " + e.what());
    }
    load_deferred_ = false;
  }
  std::vector<StoredPeer> peers = builder.finish();
  counters_.invalid_rows_skipped.fetch_add(builder.invalid(), std::memory_order_relaxed);
  spdlog::info("Loaded {} peers with {} addresses from storage ({} ms)", peers.size(),
               builder.addresses(),
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
  return peers;
}

Status PgPeerStore::close() {
  {
    std::lock_guard lk(read_mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    reader_.reset();
  }
  Status st = stop_writer();
  writer_.reset();
  return st;
}

}  // namespace mp::storage

#include "fleet/pg_fleet.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <pqxx/pqxx>
#include <string_view>

#include "storage/pg_peer_store.hpp"
#include "storage/stored_peer_builder.hpp"

namespace mp::fleet {
namespace {

using Clock = std::chrono::steady_clock;

// The database's clock in Unix milliseconds: every member's heartbeat and
// every "now" it is compared with come from it.
constexpr const char* kDbNowMs = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
constexpr std::int64_t kForgetMemberAfterMs = 24 * 60 * 60 * 1000;

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, std::atomic<bool>& flag)
      : pqxx::notification_receiver(c, kNotifyChannel), flag_(flag) {}
  void operator()(const std::string&, int) override { flag_ = true; }

 private:
  std::atomic<bool>& flag_;
};

std::string with_connect_timeout(std::string url, std::chrono::seconds t) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  const bool is_url = url.find("://") != std::string::npos;
  const char* sep = !is_url ? " " : url.find('?') == std::string::npos ? "?" : "&";
  return url + sep + "connect_timeout=" + std::to_string(t.count());
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void PgFleet::pull(pqxx::connection& conn, PullWindow& window) {
  // One snapshot for the window and the new rows; the transaction's id is
  // taken after it (PullWindow::finish_pull). Rows are taken only once every
  // query has answered, so a failed pull changes nothing.
  std::vector<pqxx::result> results;
  std::uint64_t xid = 0, xmin = 0;
  const bool has_window = window.frontier() > window.low();
  {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
    pqxx::row h = tx.exec("SELECT pg_current_xact_id()::text, "
                          "pg_snapshot_xmin(pg_current_snapshot())::text")[0];
    xid = h[0].as<std::uint64_t>();
    xmin = h[1].as<std::uint64_t>();
    if (has_window) {
      results.push_back(tx.exec_prepared("window", window.low(), window.frontier(), config_.self));
    }
    std::int64_t after = window.frontier();
    for (std::size_t round = 0; round < kMaxBatchesPerPull; ++round) {
      results.push_back(tx.exec_prepared("pull", after, config_.self,
                                         static_cast<std::int64_t>(window.batch())));
      const pqxx::result& r = results.back();
      if (!r.empty()) after = r[r.size() - 1][0].as<std::int64_t>();
      if (!window.full(r.size())) break;
    }
    tx.commit();
  }
  storage::StoredPeerBuilder builder(unix_ms() / 1000);
  std::uint64_t news = 0, late = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    for (const auto& row : results[i]) {
      if (!window.take(row[0].as<std::int64_t>())) continue;
      ++news;
      if (i == 0 && has_window) ++late;
      builder.add(std::string_view(row[1].c_str(), row[1].size()),
                  std::string_view(row[2].c_str(), row[2].size()), row[3].as<double>(),
                  row[4].as<std::int64_t>());
    }
  }
  const std::uint64_t cuts_before = window.cuts();
  window.finish_pull(xid, xmin);
  auto peers = builder.finish();
  counters_.pulled_rows.fetch_add(news, std::memory_order_relaxed);
  counters_.late_rows.fetch_add(late, std::memory_order_relaxed);
  counters_.window_cuts.fetch_add(window.cuts() - cuts_before, std::memory_order_relaxed);
  counters_.pulled_peers.fetch_add(peers.size(), std::memory_order_relaxed);
  if (!peers.empty() && config_.on_pulled) config_.on_pulled(std::move(peers));
}

void PgFleet::start_window(pqxx::connection& conn, PullWindow& window) {
  // Past what the node loaded at start: MAX(change_seq) of the first
  // snapshot. A writer that took a lower change_seq may still be running
  // then; the rows this snapshot sees near the top are marked as loaded, so
  // only those committing later are pulled (from the window, as late rows).
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
  pqxx::row h = tx.exec("SELECT COALESCE(MAX(change_seq), 0), pg_current_xact_id()::text, "
                        "pg_snapshot_xmin(pg_current_snapshot())::text FROM dht_peers")[0];
  const auto top = h[0].as<std::int64_t>();
  std::vector<std::int64_t> visible;
  const std::int64_t from = std::max<std::int64_t>(0, top - kMaxLateWindow);
  for (const auto& row : tx.exec_params(
           "SELECT change_seq FROM dht_peers WHERE change_seq > $1 AND change_seq <= $2", from, top)) {
    visible.push_back(row[0].as<std::int64_t>());
  }
  tx.commit();
  window.start_behind(top, visible, h[1].as<std::uint64_t>(), h[2].as<std::uint64_t>());
}

PgFleet::PgFleet(PgFleetConfig config)
    : config_(std::move(config)),
      conn_string_(with_connect_timeout(config_.url, config_.connect_timeout)),
      addrs_(join_addrs(config_.addrs)) {}

void PgFleet::set_addrs(const std::vector<std::string>& addrs) {
  std::string joined = join_addrs(addrs);
  std::lock_guard lk(mu_);
  addrs_ = std::move(joined);
}

PgFleet::~PgFleet() { stop(); }

void PgFleet::start() { thread_ = std::thread([this] { run(); }); }

void PgFleet::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PgFleet::poke() {
  {
    std::lock_guard lk(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

bool PgFleet::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [&] { return stopping_ || poked_; });
  return !stopping_;
}

void PgFleet::run() {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> receiver;
  std::atomic<bool> notified{false};
  PullWindow window(config_.pull_batch);
  auto next_beat = Clock::now();
  auto next_pull = Clock::now();
  bool warned = false;
  auto drop = [&](const std::exception& e) {
    counters_.failures.fetch_add(1, std::memory_order_relaxed);
    counters_.connected = false;
    if (!warned) {
      spdlog::warn("fleet: lost the database ({}); retrying every {} ms", e.what(),
                   config_.retry_interval.count());
      warned = true;
    }
    receiver.reset();
    conn.reset();
    // Nobody known alive: the node falls back to verifying every peer itself.
    if (config_.on_members) config_.on_members({});
  };
  std::string addrs;

  while (true) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
      if (poked_) {
        poked_ = false;
        next_beat = next_pull = Clock::now();
      }
      addrs = addrs_;
    }
    if (!conn) {
      try {
        conn = std::make_unique<pqxx::connection>(conn_string_);
        receiver = std::make_unique<Receiver>(*conn, notified);
        if (!window.started()) start_window(*conn, window);
        conn->prepare("beat", std::string(R"(
          INSERT INTO bootstrap_nodes (peer_id, addrs, version, heartbeat_ms, started_ms)
          VALUES ($1, $2, $3, )") + kDbNowMs + ", " + kDbNowMs + R"()
          ON CONFLICT (peer_id) DO UPDATE SET addrs = EXCLUDED.addrs,
            version = EXCLUDED.version, heartbeat_ms = EXCLUDED.heartbeat_ms)");
        conn->prepare("forget", std::string("DELETE FROM bootstrap_nodes WHERE heartbeat_ms < ") +
                                    kDbNowMs + " - $1");
        conn->prepare("members", std::string("SELECT peer_id, addrs, version, heartbeat_ms, "
                                             "started_ms, ") +
                                     kDbNowMs + " FROM bootstrap_nodes LIMIT $1");
        conn->prepare("pull", R"(
          SELECT change_seq, peer_id, multiaddr, reputation, last_seen FROM dht_peers
          WHERE change_seq > $1 AND seen_by <> $2 ORDER BY change_seq LIMIT $3)");
        // The late-commit window (PullWindow): at most kMaxLateWindow seqs.
        conn->prepare("window", R"(
          SELECT change_seq, peer_id, multiaddr, reputation, last_seen FROM dht_peers
          WHERE change_seq > $1 AND change_seq <= $2 AND seen_by <> $3 ORDER BY change_seq)");
        counters_.connected = true;
        if (warned) spdlog::info("fleet: connected to the database again");
        warned = false;
        next_beat = next_pull = Clock::now();
      } catch (const std::exception& e) {
        drop(e);
        if (!wait_for(config_.retry_interval)) break;
        continue;
      }
    }
    try {
      auto now = Clock::now();
      if (now >= next_beat) {
        next_beat = now + config_.heartbeat;
        std::vector<Member> rows;
        std::int64_t db_now = 0;
        {
          pqxx::work tx(*conn);
          tx.exec_prepared("beat", config_.self, addrs, config_.version);
          tx.exec_prepared("forget", kForgetMemberAfterMs);
          pqxx::result r = tx.exec_prepared("members", static_cast<std::int64_t>(kMaxMembers));
          tx.commit();
          for (const auto& row : r) {
            Member m;
            m.peer_id = row[0].c_str();
            m.addrs = split_addrs(std::string_view(row[1].c_str(), row[1].size()));
            m.version = row[2].c_str();
            m.heartbeat_ms = row[3].as<std::int64_t>();
            m.started_ms = row[4].as<std::int64_t>();
            db_now = row[5].as<std::int64_t>();
            rows.push_back(std::move(m));
          }
        }
        auto alive = alive_members(std::move(rows), db_now, config_.heartbeat);
        counters_.members_alive = alive.size();
        counters_.heartbeats.fetch_add(1, std::memory_order_relaxed);
        if (config_.on_members) config_.on_members(std::move(alive));
      }
      const bool woken = notified.exchange(false);
      if (woken) counters_.notifications.fetch_add(1, std::memory_order_relaxed);
      if (woken || now >= next_pull) {
        next_pull = now + config_.pull;
        pull(*conn, window);
        counters_.pulls.fetch_add(1, std::memory_order_relaxed);
        counters_.last_pull_ms = unix_ms();
      }
      // Sleep in libpq's socket wait, so a NOTIFY ends it at once.
      now = Clock::now();
      auto wait = std::min({next_beat - now, next_pull - now,
                            std::chrono::duration_cast<Clock::duration>(kMaxWait)});
      if (wait > Clock::duration::zero() && !notified) {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
        conn->await_notification(static_cast<long>(us / 1'000'000), static_cast<long>(us % 1'000'000));
      }
    } catch (const std::exception& e) {
      drop(e);
      if (!wait_for(config_.retry_interval)) break;
    }
  }
  receiver.reset();
  conn.reset();
}

}  // namespace mp::fleet

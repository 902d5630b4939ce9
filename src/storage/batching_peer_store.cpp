#include "storage/batching_peer_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <memory>
#include <utility>

namespace mp::storage {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kMaxRetryInterval{30'000};
// How far last_stats() may lag behind committed writes, at least.
constexpr std::chrono::seconds kStatsInterval{1};

std::string addr_text(const Multiaddr& addr) { return addr.without_peer_id().to_string(); }

}  // namespace

BatchingPeerStore::BatchingPeerStore(BatchSettings settings)
    : settings_(std::move(settings)), queue_(settings_.queue_capacity) {
  if (settings_.batch_max_rows == 0) settings_.batch_max_rows = 1;
}

std::int64_t BatchingPeerStore::now() const {
  if (settings_.clock) return settings_.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void BatchingPeerStore::start_writer() {
  thread_ = std::thread([this] { writer_loop(); });
}

void BatchingPeerStore::set_stats(const StorageStats& s) {
  std::lock_guard lk(mu_);
  last_stats_ = s;
}

void BatchingPeerStore::set_available(bool available) {
  {
    std::lock_guard lk(mu_);
    available_ = available;
  }
  wake_writer_.notify_one();
}

// ---------------------------------------------------------------- write path

bool BatchingPeerStore::enqueue(RowUpdate u) {
  std::size_t size = 0;
  bool accepted = false;
  bool grew = false;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return false;
    const std::size_t before = queue_.size();
    accepted = queue_.push(std::move(u));
    size = queue_.size();
    grew = size > before;
  }
  if (!accepted) {
    counters_.queue_full_refusals.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  counters_.updates_accepted.fetch_add(1, std::memory_order_relaxed);
  if (!grew) counters_.updates_coalesced.fetch_add(1, std::memory_order_relaxed);
  counters_.queue_depth.store(size, std::memory_order_relaxed);
  // Wake the writer only to start a batch window or when a batch is full:
  // waking it per update would defeat batching.
  if (grew && (size == 1 || size == settings_.batch_max_rows)) wake_writer_.notify_one();
  return true;
}

bool BatchingPeerStore::add_peer(const PeerId& peer, const Multiaddr& addr) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.multiaddr = addr_text(addr);
  u.seen = now();
  return enqueue(std::move(u));
}

bool BatchingPeerStore::remove_peer(const PeerId& peer, const Multiaddr& addr) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.multiaddr = addr_text(addr);
  u.remove = true;
  return enqueue(std::move(u));
}

bool BatchingPeerStore::record_dial_success(const PeerId& peer, const Multiaddr& addr) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.multiaddr = addr_text(addr);
  u.seen = now();
  u.dial_success = true;
  return enqueue(std::move(u));
}

bool BatchingPeerStore::record_dial_failure(const PeerId& peer) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.dial_failures = 1;
  return enqueue(std::move(u));
}

bool BatchingPeerStore::record_dial_failure(const PeerId& peer, const Multiaddr& addr) {
  RowUpdate u;
  u.peer_id = peer.to_base58();
  u.multiaddr = addr_text(addr);
  u.dial_failures = 1;
  return enqueue(std::move(u));
}

void BatchingPeerStore::note_failure(const std::string& what, const std::exception& e) {
  counters_.write_failures.fetch_add(1, std::memory_order_relaxed);
  ++failures_in_row_;
  // Loud on the first failure, then once a minute's worth of retries, so a
  // full disk or a database that is down does not flood the log.
  if (!counters_.failing.load(std::memory_order_relaxed) || failures_in_row_ % 60 == 0) {
    spdlog::error("Peer store {} failed ({} failures in a row): {}; queued updates are kept "
                  "(up to {}) and retried",
                  what, failures_in_row_, e.what(), settings_.queue_capacity);
  }
  counters_.failing.store(true, std::memory_order_relaxed);
}

void BatchingPeerStore::note_success() {
  if (counters_.failing.load(std::memory_order_relaxed)) {
    spdlog::info("Peer store writes recovered after {} failures", failures_in_row_);
    counters_.failing.store(false, std::memory_order_relaxed);
    failures_in_row_ = 0;
  }
}

Status BatchingPeerStore::commit_rows(std::vector<RowUpdate> rows) {
  const std::int64_t t_now = now();
  std::size_t i = 0;
  while (i < rows.size()) {
    const std::size_t end = std::min(rows.size(), i + settings_.batch_max_rows);
    const auto t0 = Clock::now();
    std::uint64_t evicted = 0;
    try {
      evicted = write_batch(rows, i, end, t_now);
    } catch (const std::exception& e) {
      // The whole batch (and the rest) goes back: a transaction that failed
      // wrote nothing, so retrying it whole loses and doubles nothing.
      std::vector<RowUpdate> rest(std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(i)),
                                  std::make_move_iterator(rows.end()));
      std::size_t dropped = 0;
      std::size_t depth = 0;
      {
        std::lock_guard lk(mu_);
        dropped = queue_.requeue(std::move(rest));
        depth = queue_.size();
      }
      counters_.queue_depth.store(depth, std::memory_order_relaxed);
      counters_.rows_dropped.fetch_add(dropped, std::memory_order_relaxed);
      note_failure("write of " + std::to_string(end - i) + " peer updates", e);
      return make_error(std::string("peer store write failed: ") + e.what());
    }
    const auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
    counters_.batches_committed.fetch_add(1, std::memory_order_relaxed);
    counters_.rows_committed.fetch_add(end - i, std::memory_order_relaxed);
    counters_.rows_evicted.fetch_add(evicted, std::memory_order_relaxed);
    counters_.last_batch_latency_us.store(us, std::memory_order_relaxed);
    counters_.total_batch_latency_us.fetch_add(us, std::memory_order_relaxed);
    note_success();
    i = end;
  }
  return Status::Ok();
}

void BatchingPeerStore::refresh_stats() {
  const auto t0 = Clock::now();
  try {
    set_stats(read_writer_stats());
  } catch (const std::exception& e) {
    spdlog::warn("Could not read storage stats: {}", e.what());
  }
  // The query reads the whole primary-key index: on a large table under
  // constant writes it runs at most 10% of the writer's time.
  const auto cost = Clock::now() - t0;
  next_stats_at_ = Clock::now() + std::max<Clock::duration>(kStatsInterval, 10 * cost);
  stats_dirty_ = false;
}

void BatchingPeerStore::writer_loop() {
  std::unique_lock lk(mu_);
  auto retry_at = Clock::time_point::min();
  auto backoff = settings_.retry_interval;
  auto failed = [&] {
    retry_at = Clock::now() + backoff;
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxRetryInterval);
  };
  while (true) {
    auto urgent = [&] { return stopping_ || !jobs_.empty() || flush_requested_ != flush_done_; };
    auto has_work = [&] { return urgent() || !queue_.empty(); };
    if (!available_) {
      // Down (PostgreSQL unreachable): reconnect on the retry schedule,
      // whether or not anything is queued; a flush, close or job tries at once.
      wake_writer_.wait_until(lk, retry_at, urgent);
      lk.unlock();
      try {
        reconnect();
        backoff = settings_.retry_interval;
        retry_at = Clock::time_point::min();
        set_available(true);
        note_success();
      } catch (const std::exception& e) {
        note_failure("connection", e);
        failed();
      }
      lk.lock();
      // Still down: a flush, close or job goes on below and fails fast
      // (its rows stay queued), so nobody waits for the database.
      if (!available_ && !urgent()) continue;
    }
    if (stats_dirty_) {
      if (!wake_writer_.wait_until(lk, next_stats_at_, has_work)) {
        lk.unlock();
        refresh_stats();  // nothing else to do: the stats are due
        lk.lock();
        continue;
      }
    } else {
      wake_writer_.wait(lk, [&] { return has_work() || !available_; });
      if (!available_ && !urgent()) continue;  // lost meanwhile: reconnect first
    }
    if (!urgent()) {
      // A batch window opens with the first queued row; it closes early when
      // a full batch is waiting, unless we are backing off after a failure.
      const auto deadline = std::max(Clock::now() + settings_.batch_interval, retry_at);
      wake_writer_.wait_until(lk, deadline, [&] {
        return urgent() ||
               (queue_.size() >= settings_.batch_max_rows && Clock::now() >= retry_at);
      });
    }
    const std::uint64_t ticket = flush_requested_;
    const std::uint64_t flush_seen = flush_done_;
    const bool stop = stopping_;
    std::vector<RowUpdate> rows = queue_.take_all();
    std::deque<Job> jobs;
    jobs.swap(jobs_);
    counters_.queue_depth.store(0, std::memory_order_relaxed);
    lk.unlock();

    Status st;
    const bool had_rows = !rows.empty();
    if (had_rows) {
      st = commit_rows(std::move(rows));
      if (st) {
        backoff = settings_.retry_interval;
        retry_at = Clock::time_point::min();
      } else {
        failed();
      }
    }
    for (Job& job : jobs) job();
    if (had_rows && st) stats_dirty_ = true;
    // A flush (and close) returns with current stats.
    if (stats_dirty_ && (Clock::now() >= next_stats_at_ || ticket != flush_seen || stop)) {
      refresh_stats();
    }

    lk.lock();
    if (ticket != flush_done_) {
      flush_done_ = ticket;
      flush_status_ = st;
    }
    if (stop) {
      flush_status_ = st;
      if (!queue_.empty()) {
        spdlog::error("Peer store closing with {} peer updates not written: {}", queue_.size(),
                      st.message());
      }
      flushed_.notify_all();
      return;
    }
    flushed_.notify_all();
  }
}

// ---------------------------------------------------------------- jobs

void BatchingPeerStore::schedule_maintenance(std::vector<PeerId> connected) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || maintenance_pending_) return;  // a slow disk must not pile runs up
    maintenance_pending_ = true;
    jobs_.push_back([this, connected = std::move(connected)] {
      {
        std::lock_guard job_lk(mu_);
        maintenance_pending_ = false;
      }
      (void)maintain(connected);
    });
  }
  wake_writer_.notify_one();
}

Result<MaintenanceReport> BatchingPeerStore::run_maintenance(std::vector<PeerId> connected) {
  auto done = std::make_shared<std::promise<Result<MaintenanceReport>>>();
  auto result = done->get_future();
  {
    std::lock_guard lk(mu_);
    if (stopping_) return make_error("peer store is closed");
    if (!available_) return make_error("peer store database is unavailable");
    jobs_.push_back([this, done, connected = std::move(connected)] {
      done->set_value(maintain(connected));
    });
  }
  wake_writer_.notify_one();
  return result.get();
}

Result<std::uint64_t> BatchingPeerStore::cleanup_stale(std::int64_t max_age_secs) {
  auto done = std::make_shared<std::promise<Result<std::uint64_t>>>();
  auto result = done->get_future();
  {
    std::lock_guard lk(mu_);
    if (stopping_) return make_error("peer store is closed");
    if (!available_) return make_error("peer store database is unavailable");
    jobs_.push_back([this, done, max_age_secs] {
      try {
        const std::uint64_t n = collect_rows(now() - max_age_secs, now());
        counters_.rows_collected.fetch_add(n, std::memory_order_relaxed);
        spdlog::info("Cleaned up {} stale peer records (older than {}s)", n, max_age_secs);
        done->set_value(n);
      } catch (const std::exception& e) {
        note_failure("garbage collection", e);
        done->set_value(make_error(std::string("garbage collection failed: ") + e.what()));
      }
    });
  }
  wake_writer_.notify_one();
  return result.get();
}

Result<MaintenanceReport> BatchingPeerStore::maintain(const std::vector<PeerId>& connected) {
  MaintenanceReport r;
  try {
    r = maintain_rows(connected, now());
    r.stats = read_writer_stats();
  } catch (const std::exception& e) {
    note_failure("maintenance", e);
    return make_error(std::string("peer store maintenance failed: ") + e.what());
  }
  counters_.rows_collected.fetch_add(r.rows_collected, std::memory_order_relaxed);
  counters_.rows_evicted.fetch_add(r.rows_evicted, std::memory_order_relaxed);
  set_stats(r.stats);
  const PeerStoreCounters c = counters();
  spdlog::info(
      "Storage stats: {} peers, {} addresses, {} stale peers; maintenance touched {}, "
      "collected {}, promoted {}, evicted {}; queue {}/{}, refused {}, write failures {}",
      r.stats.total_peers, r.stats.total_addresses, r.stats.stale_peers, r.peers_touched,
      r.rows_collected, r.rows_promoted, r.rows_evicted, c.queue_depth, c.queue_capacity,
      c.queue_full_refusals, c.write_failures);
  return r;
}

Status BatchingPeerStore::flush() {
  std::unique_lock lk(mu_);
  if (stopping_) return make_error("peer store is closed");
  const std::uint64_t ticket = ++flush_requested_;
  wake_writer_.notify_one();
  flushed_.wait(lk, [&] { return flush_done_ >= ticket; });
  return flush_status_;
}

Status BatchingPeerStore::stop_writer() {
  {
    std::lock_guard lk(mu_);
    if (stopped_) return flush_status_;
    stopped_ = true;
    stopping_ = true;
  }
  wake_writer_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  return flush_status_;
}

// ---------------------------------------------------------------- snapshots

StorageStats BatchingPeerStore::last_stats() const {
  std::lock_guard lk(mu_);
  return last_stats_;
}

PeerStoreCounters BatchingPeerStore::counters() const {
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  PeerStoreCounters c;
  c.queue_depth = get(counters_.queue_depth);
  c.queue_capacity = settings_.queue_capacity;
  c.updates_accepted = get(counters_.updates_accepted);
  c.updates_coalesced = get(counters_.updates_coalesced);
  c.queue_full_refusals = get(counters_.queue_full_refusals);
  c.batches_committed = get(counters_.batches_committed);
  c.rows_committed = get(counters_.rows_committed);
  c.last_batch_latency_us = get(counters_.last_batch_latency_us);
  c.total_batch_latency_us = get(counters_.total_batch_latency_us);
  c.write_failures = get(counters_.write_failures);
  c.rows_dropped = get(counters_.rows_dropped);
  c.rows_evicted = get(counters_.rows_evicted);
  c.rows_collected = get(counters_.rows_collected);
  c.invalid_rows_skipped = get(counters_.invalid_rows_skipped);
  c.failing = counters_.failing.load(std::memory_order_relaxed) ? 1 : 0;
  return c;
}

}  // namespace mp::storage

// Peer store benchmarks (bench/README.md):
//  1. UPSERT throughput of the batched writer (SqlitePeerStore: coalescing
//     queue, 1,000-row transactions) against the seed design's approach,
//     one transaction per UPSERT (rusqlite `conn.execute` in autocommit:
//     prepare, step, commit, fsync), in the same run, printed as a ratio.
//  2. Start-up time (open: lock, quick_check, migrate, GC; then load_peers)
//     with 100,000 and 1,000,000 stored rows.
//  Both for SQLite and, in the same run, for PostgreSQL (PgPeerStore: one
//  unnest() upsert statement per batch) on a local PostgreSQL 15 server the
//  bench starts itself (tests/unit/storage/pg_server.hpp; Unix socket,
//  fsync off as in the tests: it measures our client and the queries, not
//  the disk).
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "pg_server.hpp"
#include "storage/pg_peer_store.hpp"
#include "storage/sqlite_peer_store.hpp"

namespace {

namespace fs = std::filesystem;
using mp::storage::SqlitePeerStore;
using mp::storage::SqlitePeerStoreConfig;

fs::path bench_root() {
  static fs::path root = [] {
    const char* base = std::getenv("MP_BENCH_DIR");
    std::string tmpl = (fs::path(base ? base : fs::temp_directory_path().string()) / "mp-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    return fs::path(tmpl);
  }();
  return root;
}

mp::PeerId peer(std::uint64_t n) {
  mp::Bytes mh = {0x12, 0x20};
  for (int i = 0; i < 32; ++i) mh.push_back(static_cast<std::uint8_t>((n >> ((i % 8) * 8)) + i));
  return *mp::PeerId::from_bytes(mh);
}

mp::Multiaddr addr(std::uint64_t n) {
  return mp::Multiaddr::ip_tcp("10." + std::to_string((n >> 16) & 0xff) + "." +
                                   std::to_string((n >> 8) & 0xff) + "." + std::to_string(n & 0xff),
                               static_cast<std::uint16_t>(4001 + (n >> 24)));
}

enum Engine : std::int64_t { kSqlite = 0, kPostgres = 1 };
const char* engine_name(std::int64_t e) { return e == kPostgres ? "postgres" : "sqlite"; }

// A private PostgreSQL server (started once, stopped at exit), one fresh
// database per name.
std::string pg_url(const std::string& name) {
  static mp::storage::test::PgServer server;
  static std::map<std::string, std::string> made;
  auto it = made.find(name);
  if (it == made.end()) it = made.emplace(name, server.create_database()).first;
  return it->second;
}

std::unique_ptr<mp::storage::PeerStore> open_store(const fs::path& dir, std::int64_t engine = kSqlite) {
  if (engine == kPostgres) {
    mp::storage::PgPeerStoreConfig c;
    c.url = pg_url(dir.filename().string());
    c.max_rows = 2'000'000;
    c.batch.queue_capacity = 1'000'000;
    auto s = mp::storage::PgPeerStore::open(std::move(c));
    if (!s) throw std::runtime_error(s.message());
    return std::move(*s);
  }
  SqlitePeerStoreConfig c;
  c.data_dir = dir;
  c.max_rows = 2'000'000;
  c.queue_capacity = 1'000'000;
  auto s = SqlitePeerStore::open(std::move(c));
  if (!s) throw std::runtime_error(s.message());
  return std::move(*s);
}

// CPU seconds of the whole process (all threads): the writer thread's work
// is invisible to the benchmark's own per-thread CPU time.
double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

std::map<std::string, double> g_rows_per_cpu_second;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ------------------------------------------------------------ 1. write path

constexpr std::int64_t kBatchedRowsPerIteration = 10'000;

void BM_UpsertBatched(benchmark::State& state) {
  const std::int64_t engine = state.range(0);
  const fs::path dir = bench_root() / (std::string("batched_") + engine_name(engine));
  fs::remove_all(dir);
  auto store = open_store(dir, engine);
  std::uint64_t n = 0;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kBatchedRowsPerIteration; ++i, ++n) {
      store->add_peer(peer(n / 2), addr(n));  // two addresses per peer
    }
    if (!store->flush()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(state.iterations() * kBatchedRowsPerIteration);
  g_rows_per_cpu_second[std::string("batched-") + engine_name(engine)] =
      static_cast<double>(state.iterations() * kBatchedRowsPerIteration) / (process_cpu_seconds() - cpu0);
  state.counters["batches"] = static_cast<double>(store->counters().batches_committed);
}

// The seed: `conn.execute(UPSERT)` per peer, autocommit, WAL with SQLite's
// default synchronous (FULL: one fsync per commit). `sync` = 1 runs the same
// with our synchronous=NORMAL, to show batching is more than skipped fsyncs.
void BM_UpsertOnePerTransaction(benchmark::State& state) {
  const bool normal_sync = state.range(0) == 1;
  const fs::path dir = bench_root() / (normal_sync ? "seed-normal" : "seed-full");
  fs::remove_all(dir);
  fs::create_directories(dir);
  sqlite3* db = nullptr;
  sqlite3_open((dir / "dht.db").c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL;"
               "CREATE TABLE IF NOT EXISTS dht_peers (peer_id TEXT NOT NULL, multiaddr TEXT NOT NULL,"
               " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
               " PRIMARY KEY (peer_id, multiaddr));"
               "CREATE INDEX IF NOT EXISTS idx_last_seen ON dht_peers(last_seen);",
               nullptr, nullptr, nullptr);
  if (normal_sync) sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
  constexpr std::int64_t kRows = 500;
  std::uint64_t n = 0;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kRows; ++i, ++n) {
      const std::string p = peer(n / 2).to_base58();
      const std::string a = addr(n).to_string();
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db,
                         "INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen) "
                         "VALUES (?1, ?2, ?3, ?3) ON CONFLICT(peer_id, multiaddr) "
                         "DO UPDATE SET last_seen = ?3",
                         -1, &st, nullptr);
      sqlite3_bind_text(st, 1, p.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, a.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 3, unix_now());
      if (sqlite3_step(st) != SQLITE_DONE) state.SkipWithError("upsert failed");
      sqlite3_finalize(st);
    }
  }
  g_rows_per_cpu_second[normal_sync ? "seed-normal" : "seed-full"] =
      static_cast<double>(state.iterations() * kRows) / (process_cpu_seconds() - cpu0);
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations() * kRows);
}

// ------------------------------------------------------------ 2. start-up

// Fills dir/dht.db with `rows` rows (2 addresses per peer) once per size.
void populate(const fs::path& dir, std::int64_t rows, std::int64_t engine) {
  if (engine == kSqlite && fs::exists(dir / "dht.db")) return;
  auto store = open_store(dir, engine);
  if (engine == kPostgres && store->last_stats().total_addresses >= static_cast<std::uint64_t>(rows)) return;
  for (std::int64_t n = 0; n < rows; ++n) {
    store->add_peer(peer(static_cast<std::uint64_t>(n / 2)), addr(static_cast<std::uint64_t>(n)));
    if (n % 200'000 == 199'999) (void)store->flush();
  }
  (void)store->close();
}

struct StartupRow {
  double open_ms = 0, load_ms = 0, cpu_ms = 0;
  std::size_t peers = 0, addrs = 0;
};
std::map<std::pair<std::int64_t, std::int64_t>, StartupRow> g_startup;  // (engine, rows)

void BM_StartupLoad(benchmark::State& state) {
  const std::int64_t rows = state.range(0);
  const std::int64_t engine = state.range(1);
  const fs::path dir = bench_root() / (std::string("load_") + engine_name(engine) + "_" + std::to_string(rows));
  populate(dir, rows, engine);
  StartupRow total;
  for (auto _ : state) {
    const double cpu0 = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    auto store = open_store(dir, engine);
    const auto t1 = std::chrono::steady_clock::now();
    auto peers = store->load_peers();
    const auto t2 = std::chrono::steady_clock::now();
    total.cpu_ms += (process_cpu_seconds() - cpu0) * 1000;
    if (!peers) {
      state.SkipWithError("load failed");
      break;
    }
    total.open_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    total.load_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    total.peers = peers->size();
    total.addrs = 0;
    for (const auto& p : *peers) total.addrs += p.addrs.size();
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
    state.PauseTiming();
    store.reset();  // close outside the measurement
    state.ResumeTiming();
  }
  const double it = static_cast<double>(state.iterations());
  total.open_ms /= it;
  total.load_ms /= it;
  total.cpu_ms /= it;
  g_startup[{engine, rows}] = total;
  state.counters["open_ms"] = total.open_ms;
  state.counters["load_ms"] = total.load_ms;
  state.counters["peers"] = static_cast<double>(total.peers);
}

BENCHMARK(BM_UpsertBatched)->Arg(kSqlite)->Arg(kPostgres)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_UpsertOnePerTransaction)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_StartupLoad)->ArgsProduct({{100'000, 1'000'000}, {kSqlite, kPostgres}})->Iterations(3)->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Prints the usual table and remembers throughputs for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) rates[r.benchmark_name()] = it->second.value;
    }
  }
  std::map<std::string, double> rates;
};

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\n== UPSERT throughput (wall clock; and per CPU-second of the whole process) ==\n");
  const double batched = reporter.rates["BM_UpsertBatched/0/min_time:2.000/real_time"];
  const double batched_pg = reporter.rates["BM_UpsertBatched/1/min_time:2.000/real_time"];
  const double seed_full = reporter.rates["BM_UpsertOnePerTransaction/0/min_time:2.000/real_time"];
  const double seed_normal = reporter.rates["BM_UpsertOnePerTransaction/1/min_time:2.000/real_time"];
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  auto& cpu = g_rows_per_cpu_second;
  std::printf("%-44s %10s %7s %12s %7s\n", "", "rows/s", "ratio", "rows/cpu-s", "ratio");
  std::printf("%-44s %10.0f %7s %12.0f %7s\n", "batched writer (SqlitePeerStore)", batched, "1.0x",
              cpu["batched-sqlite"], "1.0x");
  // PostgreSQL's own CPU is in its server processes, not in ours.
  std::printf("%-44s %10.0f %6.1fx %12.0f %7s\n", "batched writer (PgPeerStore, unnest upsert)",
              batched_pg, ratio(batched, batched_pg), cpu["batched-postgres"], "(client)");
  std::printf("%-44s %10.0f %6.1fx %12.0f %6.1fx\n", "seed: 1 txn per upsert, synchronous=FULL",
              seed_full, ratio(batched, seed_full), cpu["seed-full"], ratio(cpu["batched-sqlite"], cpu["seed-full"]));
  std::printf("%-44s %10.0f %6.1fx %12.0f %6.1fx\n", "seed: 1 txn per upsert, synchronous=NORMAL",
              seed_normal, ratio(batched, seed_normal), cpu["seed-normal"],
              ratio(cpu["batched-sqlite"], cpu["seed-normal"]));

  std::printf("\n== Start-up (open + GC + quick_check, then load_peers) ==\n");
  std::printf("%9s %12s %10s %10s %10s %10s %10s\n", "engine", "rows", "peers", "open ms", "load ms",
              "total ms", "cpu ms");
  for (const auto& [key, r] : g_startup) {
    std::printf("%9s %12lld %10zu %10.0f %10.0f %10.0f %10.0f\n", engine_name(key.first),
                static_cast<long long>(key.second), r.peers, r.open_ms, r.load_ms, r.open_ms + r.load_ms,
                r.cpu_ms);
  }
  std::error_code ec;
  if (!std::getenv("MP_BENCH_KEEP")) fs::remove_all(bench_root(), ec);
  return 0;
}

// Fleet pull benchmark (bench/README.md, issue 16): how fast one member
// pulls what another stored, on a local PostgreSQL 15 server the bench
// starts itself (tests/unit/storage/pg_server.hpp; Unix socket, fsync off:
// it measures our client and the queries, not the disk).
//
//  1. Rows pulled per second: member W's rows are already in dht_peers
//     (inserted by plain SQL, so no NOTIFY), member P (PgFleet) is poked and
//     pulls them all. Once with back-to-back rounds (the pull machinery's own
//     rate: PullWindow, one REPEATABLE READ snapshot per round, 1,000-row
//     queries, StoredPeerBuilder), once at the default FLEET_PULL_SECS (a
//     round takes at most kMaxBatchesPerPull batches, so a backlog drains at
//     that many rows per interval unless NOTIFY wakes it sooner).
//  2. Latency from W's write to P's pull: W is a PgPeerStore (the node's
//     writer: a batch every 250 ms, NOTIFY mepassa_peers after it), the clock
//     starts at add_peer() and stops when P's on_pulled delivers the peer;
//     again with flush() right after add_peer() (no batch wait: the commit,
//     NOTIFY and the pull). Then without NOTIFY: W commits the row by plain
//     SQL (a writer that sends none), so only P's pull interval finds it.
//     Each write starts at a random point of the pull interval.
//
// Prints tables; no assertion on the figures. Options: MP_BENCH_PULL_ROWS
// (default 100000), MP_BENCH_LATENCY_SAMPLES (default 20).
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fleet/pg_fleet.hpp"
#include "pg_server.hpp"
#include "storage/pg_peer_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using mp::fleet::PgFleet;
using mp::fleet::PgFleetConfig;

constexpr const char* kWriter = "12D3KooWBenchWriterMember";
constexpr const char* kPuller = "12D3KooWBenchPullerMember";

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v ? static_cast<std::size_t>(std::stoull(v)) : fallback;
}

mp::PeerId peer(std::uint64_t n) {
  mp::Bytes mh = {0x12, 0x20};
  for (int i = 0; i < 32; ++i) mh.push_back(static_cast<std::uint8_t>((n >> ((i % 8) * 8)) + i * 7));
  return *mp::PeerId::from_bytes(mh);
}

std::string addr_text(std::uint64_t n) {
  return "/ip4/10." + std::to_string((n >> 16) & 0xff) + "." + std::to_string((n >> 8) & 0xff) +
         "." + std::to_string(n & 0xff) + "/tcp/4001";
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// W's rows, written by plain SQL (no NOTIFY), 1,000 rows a statement, one transaction.
void insert_rows(pqxx::connection& c, std::uint64_t first, std::size_t rows) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  constexpr std::size_t kPerStatement = 1'000;
  pqxx::work tx(c);
  for (std::size_t done = 0; done < rows;) {
    std::string sql =
        "INSERT INTO dht_peers (peer_id, multiaddr, first_seen, last_seen, reputation, seen_by) VALUES ";
    const std::size_t n = std::min(kPerStatement, rows - done);
    for (std::size_t i = 0; i < n; ++i, ++done) {
      const std::uint64_t k = first + done;
      if (i) sql += ',';
      sql += "('" + peer(k).to_base58() + "','" + addr_text(k) + "'," + std::to_string(now) + ',' +
             std::to_string(now) + ",1.0,'" + kWriter + "')";
    }
    tx.exec(sql);
  }
  tx.commit();
}

// W as a node runs it: the batching writer, NOTIFY after each batch.
std::unique_ptr<mp::storage::PgPeerStore> open_writer(const std::string& url) {
  mp::storage::PgPeerStoreConfig c;
  c.url = url;
  c.seen_by = kWriter;
  c.max_rows = 2'000'000;
  auto w = mp::storage::PgPeerStore::open(std::move(c));
  if (!w) throw std::runtime_error(w.message());
  return std::move(*w);
}

// P: a PgFleet whose pulled peers are counted and looked up.
struct Puller {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t peers = 0;
  std::size_t rounds = 0;  // pulls that delivered peers
  std::vector<std::string> last;  // Peer IDs of the latest delivery
  std::unique_ptr<PgFleet> fleet;

  Puller(const std::string& url, std::chrono::milliseconds pull) {
    PgFleetConfig c;
    c.url = url;
    c.self = kPuller;
    c.version = "bench";
    c.heartbeat = std::chrono::hours(1);
    c.pull = pull;
    c.on_pulled = [this](std::vector<mp::storage::StoredPeer> got) {
      std::lock_guard lk(mu);
      peers += got.size();
      ++rounds;
      for (const auto& p : got) last.push_back(p.id.to_base58());
      cv.notify_all();
    };
    fleet = std::make_unique<PgFleet>(std::move(c));
    fleet->start();
    // Connected, and the cursor set at the table's end.
    while (fleet->counters().pulls.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  bool wait_for_peer(const std::string& id, std::chrono::seconds limit) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, limit, [&] { return std::find(last.begin(), last.end(), id) != last.end(); });
  }
  bool wait_for_count(std::size_t n, std::chrono::seconds limit) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, limit, [&] { return peers >= n; });
  }
};

void throughput(mp::storage::test::PgServer& server, std::size_t rows, std::chrono::milliseconds pull,
                const char* label) {
  const std::string url = server.create_database();
  { auto w = open_writer(url); }  // the schema
  Puller p(url, pull);
  pqxx::connection c(url);
  insert_rows(c, 1, rows);
  const auto t0 = Clock::now();
  p.fleet->poke();
  const bool all = p.wait_for_count(rows, std::chrono::seconds(600));
  const double ms = ms_since(t0);
  std::size_t rounds = 0;
  {
    std::lock_guard lk(p.mu);
    rounds = p.rounds;
  }
  std::printf("%-34s %9zu %9.0f %11.0f %7llu%s\n", label, rows, ms, rows / (ms / 1000.0),
              static_cast<unsigned long long>(rounds), all ? "" : "  (incomplete)");
}

struct Percentiles {
  double p50, p90, max;
};
Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))]; };
  return {at(0.5), at(0.9), v.back()};
}

enum class Write { kStore, kStoreFlush, kPlainSql };

void latency(mp::storage::test::PgServer& server, std::size_t samples, Write how,
             std::chrono::milliseconds pull, const char* label) {
  const std::string url = server.create_database();
  auto w = open_writer(url);
  Puller p(url, pull);
  pqxx::connection c(url);
  std::mt19937 rng(7);
  std::vector<double> ms;
  std::uint64_t next = 10'000'000;
  for (std::size_t i = 0; i < samples; ++i) {
    // Uniform over the pull interval's phase: the previous sample ended
    // right after a pull.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % pull.count()));
    const std::uint64_t k = next++;
    const std::string id = peer(k).to_base58();
    const auto t0 = Clock::now();
    if (how != Write::kPlainSql) {
      (void)w->add_peer(peer(k), *mp::Multiaddr::parse(addr_text(k)));
      if (how == Write::kStoreFlush) (void)w->flush();
    } else {
      insert_rows(c, k, 1);
    }
    if (!p.wait_for_peer(id, std::chrono::seconds(60))) {
      std::printf("%s: peer %zu not pulled within 60 s\n", label, i);
      continue;
    }
    ms.push_back(ms_since(t0));
  }
  if (ms.empty()) return;
  const auto pc = percentiles(ms);
  std::printf("%-48s %7zu %9.1f %9.1f %9.1f %8llu\n", label, ms.size(), pc.p50, pc.p90, pc.max,
              static_cast<unsigned long long>(p.fleet->counters().notifications.load()));
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each table line as it is measured
  spdlog::set_level(spdlog::level::warn);
  const std::size_t rows = env_size("MP_BENCH_PULL_ROWS", 100'000);
  const std::size_t samples = env_size("MP_BENCH_LATENCY_SAMPLES", 20);
  mp::storage::test::PgServer server;

  std::printf("== Rows pulled per second (another member's rows, one peer per row) ==\n");
  std::printf("%-34s %9s %9s %11s %7s\n", "puller", "rows", "ms", "rows/s", "rounds");
  throughput(server, rows, std::chrono::milliseconds(1), "back-to-back rounds");
  throughput(server, std::min<std::size_t>(rows, 50'000), std::chrono::milliseconds(2'000),
             "FLEET_PULL_SECS=2 (default)");

  std::printf("\n== Latency from a member's write to another member's pull (ms) ==\n");
  std::printf("%-48s %7s %9s %9s %9s %8s\n", "writer -> puller", "samples", "p50", "p90", "max",
              "notifies");
  latency(server, samples, Write::kStore, std::chrono::milliseconds(2'000),
          "PgPeerStore batch + NOTIFY, FLEET_PULL_SECS=2");
  latency(server, samples, Write::kStoreFlush, std::chrono::milliseconds(2'000),
          "PgPeerStore flush() + NOTIFY, FLEET_PULL_SECS=2");
  latency(server, samples, Write::kPlainSql, std::chrono::milliseconds(2'000),
          "plain SQL, no NOTIFY, FLEET_PULL_SECS=2");
  latency(server, samples, Write::kPlainSql, std::chrono::milliseconds(1'000),
          "plain SQL, no NOTIFY, FLEET_PULL_SECS=1");
  return 0;
}

// Helpers for the storage tests: a fresh temp dir per test, the real
// /usr/bin/sqlite3 command, deterministic peer ids, a captured log.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "support/temp_dir.hpp"

namespace mp::storage::test {

// A temp DATA_DIR; db() is where the SQLite engine keeps its file.
class TempDir : public mp::test::TempDir {
 public:
  TempDir() : mp::test::TempDir("mp-storage-") {}
  std::filesystem::path db() const { return path() / "dht.db"; }
};

struct ShellResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with /bin/sh, as an operator would type it.
inline ShellResult sh(const std::string& command) {
  ShellResult r;
  FILE* p = ::popen(("exec 2>&1\n" + command).c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  r.status = ::pclose(p);
  return r;
}

// `/usr/bin/sqlite3 <db> "<sql>"`. The SQL must not contain double quotes.
inline ShellResult sqlite3_cli(const std::filesystem::path& db, const std::string& sql) {
  return sh("/usr/bin/sqlite3 '" + db.string() + "' \"" + sql + "\"");
}

// A valid peer id (sha2-256 multihash, "Qm...") derived from `n`.
inline PeerId test_peer(std::uint64_t n) {
  Bytes mh = {0x12, 0x20};
  for (int i = 0; i < 32; ++i) mh.push_back(static_cast<std::uint8_t>((n >> ((i % 8) * 8)) + i));
  auto id = PeerId::from_bytes(mh);
  if (!id) throw std::runtime_error(id.message());
  return *id;
}

inline Multiaddr test_addr(std::uint32_t n, std::uint16_t port = 4001) {
  return Multiaddr::ip_tcp("10." + std::to_string((n >> 16) & 0xff) + "." +
                               std::to_string((n >> 8) & 0xff) + "." + std::to_string(n & 0xff),
                           port);
}

// Polls `pred` for up to 15 s; a bound, not a timing assertion.
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 1500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// Unix seconds under the test's control.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> t = std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
  std::function<std::int64_t()> fn() const {
    auto c = t;
    return [c] { return c->load(); };
  }
  void set(std::int64_t v) { t->store(v); }
  std::int64_t now() const { return t->load(); }
};

// Routes the default spdlog logger into a string for the test's lifetime.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_pattern("[%l] %v");
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Runs one query returning an integer on a private connection (not the CLI).
inline std::int64_t query_int(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::int64_t v = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close_v2(h);
  return v;
}

inline double query_double(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  double v = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close_v2(h);
  return v;
}

}  // namespace mp::storage::test

#include "storage/sqlite_peer_store.hpp"

namespace mp::storage::test {

// Defaults for tests: commits happen on flush() (or a full batch) only, so
// tests never depend on timing.
inline SqlitePeerStoreConfig test_config(const TempDir& dir, const FakeClock* clock = nullptr) {
  SqlitePeerStoreConfig c;
  c.data_dir = dir.path();
  c.batch_interval = std::chrono::hours(1);
  c.busy_timeout = std::chrono::milliseconds(50);
  c.retry_interval = std::chrono::milliseconds(10);
  if (clock) c.clock = clock->fn();
  return c;
}

inline std::unique_ptr<SqlitePeerStore> open_store(SqlitePeerStoreConfig c) {
  auto s = SqlitePeerStore::open(std::move(c));
  if (!s) throw std::runtime_error("open failed: " + s.message());
  return std::move(*s);
}

inline std::int64_t count_rows(const TempDir& dir) {
  return query_int(dir.db(), "SELECT COUNT(*) FROM dht_peers");
}

}  // namespace mp::storage::test

// PgServer: a real PostgreSQL 15 server for the tests, started by the test
// itself: a copy of an initdb'd cluster in a temp dir (the template is made
// once per machine and user, under a lock: /dev/shm/mp-pg-template-15-<uid>;
// initdb costs seconds and every test is its own process), pg_ctl start on a
// Unix socket in that dir (no TCP port), stopped and removed at the end. As root, the server runs
// as the system user mp-pg (created with useradd when missing): PostgreSQL
// refuses to run as root. Binaries from /usr/lib/postgresql/15/bin
// (MP_PG_BIN overrides). Nothing is skipped: a failure to start throws
// with initdb's or pg_ctl's output.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace mp::storage::test {

class PgServer {
 public:
  PgServer();  // initdb + start; throws std::runtime_error
  ~PgServer();  // stop (immediate) + remove the dir
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // One server per test process, started on first use.
  static PgServer& shared();

  // A libpq URL to `db` with a password in it (ignored: trust auth), so
  // tests can check it is never logged.
  std::string url(const std::string& db) const;
  // Creates a fresh, empty database and returns its URL.
  std::string create_database();
  // Runs SQL on `db` as the superuser; returns the first column of the first row ("" if none).
  std::string query(const std::string& db_url, const std::string& sql) const;

  // For outage tests: stop (fast) and start again on the same data.
  void stop();
  void start();
  bool running() const { return running_; }
  const std::filesystem::path& dir() const { return dir_; }

  static constexpr const char* kPassword = "s3cret-Pa55word";

 private:
  std::string as_server_user(const std::string& command) const;
  static std::filesystem::path scratch_root();
  std::filesystem::path template_dir() const;
  std::filesystem::path dir_;
  std::string bin_;
  bool as_root_ = false;
  bool running_ = false;
  int next_db_ = 0;
};

}  // namespace mp::storage::test

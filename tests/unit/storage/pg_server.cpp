#include "pg_server.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <pqxx/pqxx>
#include <stdexcept>

#include "test_util.hpp"

namespace mp::storage::test {
namespace {

constexpr const char* kServerUser = "mp-pg";

void ensure_server_user() {
  if (sh(std::string("id -u ") + kServerUser + " >/dev/null").status == 0) return;
  const ShellResult r = sh(std::string("useradd --system --no-create-home --shell /usr/sbin/nologin ") +
                           kServerUser);
  // Another test process may have created it meanwhile.
  if (r.status != 0 && sh(std::string("id -u ") + kServerUser + " >/dev/null").status != 0) {
    throw std::runtime_error("cannot create the system user mp-pg: " + r.output);
  }
}

}  // namespace

// initdb costs seconds (10 s on a loaded 2-core machine) and every test
// runs in its own process (gtest_discover_tests), so one initdb'd cluster is
// kept as a template, made once under a lock and copied (cp -a) per server.
// On tmpfs when there is one: a copy is then a few milliseconds.
std::filesystem::path PgServer::scratch_root() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return std::filesystem::temp_directory_path();
}

std::filesystem::path PgServer::template_dir() const {
  const std::filesystem::path tpl =
      scratch_root() / ("mp-pg-template-15-" + std::to_string(::geteuid()));
  if (std::filesystem::exists(tpl / "READY")) return tpl;
  // flock: concurrent test processes make it once; the others wait.
  const std::string lock = tpl.string() + ".lock";
  const ShellResult r = sh("exec 9>'" + lock + "' && flock 9 && if [ ! -e '" + tpl.string() +
                           "/READY' ]; then rm -rf '" + tpl.string() + "' && mkdir -p '" + tpl.string() +
                           "' && " + (as_root_ ? "chown " + std::string(kServerUser) + " '" + tpl.string() + "' && " : "") +
                           as_server_user("'" + bin_ + "/initdb' -D '" + tpl.string() +
                                          "/data' -U postgres -A trust --no-sync -E UTF8 --no-locale") +
                           " && touch '" + tpl.string() + "/READY'; fi");
  if (r.status != 0) throw std::runtime_error("initdb failed: " + r.output);
  return tpl;
}

PgServer::PgServer() {
  const char* bin = std::getenv("MP_PG_BIN");
  bin_ = bin ? bin : "/usr/lib/postgresql/15/bin";
  as_root_ = ::geteuid() == 0;
  if (as_root_) ensure_server_user();
  const std::filesystem::path tpl = template_dir();
  std::string tmpl = (scratch_root() / "mp-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const ShellResult copy = sh("cp -a '" + (tpl / "data").string() + "' '" + dir_.string() + "/data'" +
                              (as_root_ ? " && chown " + std::string(kServerUser) + " '" + dir_.string() + "'" : ""));
  if (copy.status != 0) {
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("copying the initdb template failed: " + copy.output);
  }
  start();
}

PgServer::~PgServer() {
  if (running_) {
    (void)sh(as_server_user("'" + bin_ + "/pg_ctl' -D '" + dir_.string() + "/data' -m immediate -w stop"));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

PgServer& PgServer::shared() {
  static PgServer server;
  return server;
}

std::string PgServer::as_server_user(const std::string& command) const {
  if (!as_root_) return command;
  // runuser keeps no root privilege; the quoted command runs under sh.
  std::string quoted;
  for (char c : command) {
    if (c == '\'') quoted += "'\\''";
    else quoted += c;
  }
  return std::string("runuser -u ") + kServerUser + " -- sh -c '" + quoted + "'";
}

void PgServer::start() {
  // Unix socket in our dir only; durability off (tests, not data).
  const std::string opts = "-k " + dir_.string() +
                           " -c listen_addresses= -c fsync=off -c full_page_writes=off "
                           "-c synchronous_commit=off -c max_connections=50";
  const ShellResult r = sh(as_server_user("'" + bin_ + "/pg_ctl' -D '" + dir_.string() + "/data' -l '" +
                                          dir_.string() + "/log' -w -t 60 -o \"" + opts + "\" start"));
  if (r.status != 0) {
    const ShellResult log = sh("cat '" + dir_.string() + "/log'");
    throw std::runtime_error("pg_ctl start failed: " + r.output + log.output);
  }
  running_ = true;
}

void PgServer::stop() {
  const ShellResult r =
      sh(as_server_user("'" + bin_ + "/pg_ctl' -D '" + dir_.string() + "/data' -m fast -w stop"));
  if (r.status != 0) throw std::runtime_error("pg_ctl stop failed: " + r.output);
  running_ = false;
}

std::string PgServer::url(const std::string& db) const {
  return "postgresql://postgres:" + std::string(kPassword) + "@/" + db + "?host=" + dir_.string();
}

std::string PgServer::create_database() {
  const std::string name = "mp_test_" + std::to_string(++next_db_);
  pqxx::connection c(url("postgres"));
  pqxx::nontransaction tx(c);
  tx.exec("DROP DATABASE IF EXISTS " + name);
  tx.exec("CREATE DATABASE " + name);
  return url(name);
}

std::string PgServer::query(const std::string& db_url, const std::string& sql) const {
  pqxx::connection c(db_url);
  pqxx::nontransaction tx(c);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0].empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

}  // namespace mp::storage::test

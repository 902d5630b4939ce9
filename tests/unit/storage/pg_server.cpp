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

PgServer::PgServer() {
  const char* bin = std::getenv("MP_PG_BIN");
  bin_ = bin ? bin : "/usr/lib/postgresql/15/bin";
  as_root_ = ::geteuid() == 0;
  if (as_root_) ensure_server_user();
  std::string tmpl = (std::filesystem::temp_directory_path() / "mp-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (as_root_) sh("chown " + std::string(kServerUser) + " '" + dir_.string() + "'");
  const ShellResult init = sh(as_server_user(
      "'" + bin_ + "/initdb' -D '" + dir_.string() + "/data' -U postgres -A trust --no-sync -E UTF8 --no-locale"));
  if (init.status != 0) {
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("initdb failed: " + init.output);
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

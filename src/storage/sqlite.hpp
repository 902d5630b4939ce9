// Small RAII wrappers over the SQLite C API, just what the peer store needs:
// a connection (Database), a reusable prepared statement (Statement) and a
// transaction guard (Transaction). Failures throw SqliteError carrying the
// SQLite result code, so callers can tell "disk full" (SQLITE_FULL) from
// "not a database" (SQLITE_NOTADB); the peer store turns them into values
// at its public boundary.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace mp::storage::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  // Primary result code (SQLITE_FULL, SQLITE_BUSY, ...), extended bits removed.
  int code() const { return code_ & 0xff; }
  int extended_code() const { return code_; }

 private:
  int code_;
};

// True for the codes that mean "this file is not a usable database".
bool is_corruption(int code);

class Database {
 public:
  enum class Mode { kReadWriteCreate, kReadWrite, kReadOnly };

  Database() = default;
  // Opens `path`; throws SqliteError.
  Database(const std::string& path, Mode mode);
  ~Database();
  Database(Database&& o) noexcept;
  Database& operator=(Database&& o) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  bool is_open() const { return db_ != nullptr; }
  void close();
  sqlite3* handle() const { return db_; }

  // Runs one or more statements without results; throws SqliteError.
  void exec(const std::string& sql);
  // Runs a statement returning one integer (PRAGMA user_version, COUNT(*)).
  std::int64_t query_int(const std::string& sql);
  void set_busy_timeout(int ms);
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  std::int64_t changes() const;
  bool read_only() const;

  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
};

// A prepared statement, kept and reused: bind, step, reset.
class Statement {
 public:
  Statement() = default;
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t v);
  Statement& bind(int index, double v);
  // The text is copied by SQLite (SQLITE_TRANSIENT).
  Statement& bind(int index, std::string_view v);

  // Returns true while a row is available; throws SqliteError on failure.
  bool step();
  // Steps to completion (for statements without results).
  void run();
  // Resets and clears bindings so the statement can be reused.
  void reset();

  std::int64_t column_int(int col) const;
  double column_double(int col) const;
  std::string_view column_text(int col) const;
  bool column_is_null(int col) const;

 private:
  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction (take the write lock up front, so a busy
// database fails here and not halfway through); ROLLBACK unless commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace mp::storage::sqlite

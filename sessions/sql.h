// A thin RAII layer over the SQLite C API: a connection, prepared statements, and SQL_CHECK, which
// turns a failed call into an exception carrying the file, the call site and SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moescope::sessions {

// A SQLite failure. `code` is the primary result code (SQLITE_FULL, SQLITE_CORRUPT, ...), so
// callers can tell a full disk from a damaged file.
struct SqlError : ResourceError {
  SqlError(const std::string& message, int code) : ResourceError(message), code(code) {}
  int code;
};

[[noreturn]] void throw_sql_error(sqlite3* db, int rc, const char* what, const char* file, int line);

#define SQL_CHECK(db, call)                                                                  \
  do {                                                                                       \
    int sql_check_rc_ = (call);                                                              \
    if (sql_check_rc_ != SQLITE_OK)                                                          \
      ::moescope::sessions::throw_sql_error((db), sql_check_rc_, #call, __FILE__, __LINE__); \
  } while (0)

class Statement;

// Owns one connection. Not thread-safe: each thread opens its own (the writer thread owns one).
class Connection {
 public:
  Connection() = default;
  // `uri`, when given, is opened instead of `path` (SQLITE_OPEN_URI); `path` still names the file
  // in messages.
  Connection(const std::filesystem::path& path, int open_flags, const std::string& uri = {});
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const { return db_; }
  const std::filesystem::path& path() const { return path_; }
  void exec(const char* sql);
  Statement prepare(std::string_view sql);
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  // A PRAGMA (or other single-value query) as an integer / text.
  int64_t query_int(std::string_view sql);
  std::string query_text(std::string_view sql);

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

// A prepared statement. Binding indexes are 1-based, column indexes 0-based, as in SQLite.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::span<const std::byte> bytes);
  Statement& bind_null(int index);
  // sqlite3_bind_pointer: `pointer` reaches only a virtual table that asks for `type` (a string
  // literal: SQLite keeps the pointer to it).
  Statement& bind_pointer(int index, void* pointer, const char* type);
  // Runs one step: true while a row is available, false when done.
  bool step();
  // Runs a statement that returns no rows, then resets it for the next bindings.
  void run();
  void reset();

  int64_t column_int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double column_double(int column) const { return sqlite3_column_double(stmt_, column); }
  bool column_is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int column_type(int column) const { return sqlite3_column_type(stmt_, column); }  // SQLITE_INTEGER, ...
  int column_count() const { return sqlite3_column_count(stmt_); }
  std::string column_name(int column) const { return sqlite3_column_name(stmt_, column); }
  std::string column_text(int column) const;
  std::span<const std::byte> column_blob(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// A transaction that rolls back unless committed (BEGIN IMMEDIATE: takes the write lock up front,
// so a busy file fails at the start rather than half way through). Opened inside another
// transaction it is a savepoint, so a run written by RunWriter can sit inside the one
// transaction of an imported file: the run's commit only releases the savepoint, and the file's
// rollback drops every run of it.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection* connection_;
  bool nested_ = false;
  bool open_ = true;
};

}  // namespace moescope::sessions

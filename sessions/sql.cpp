#include "sessions/sql.h"

#include <mutex>

#include <utility>

namespace moescope::sessions {

void throw_sql_error(sqlite3* db, int rc, const char* what, const char* file, int line) {
  std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const char* db_file = db ? sqlite3_db_filename(db, "main") : nullptr;
  std::string where = db_file && *db_file ? std::string(db_file) + ": " : std::string();
  throw SqlError(where + message + " (" + what + " at " + file + ":" + std::to_string(line) + ")", rc & 0xff);
}

Connection::Connection(const std::filesystem::path& path, int open_flags, const std::string& uri) : path_(path) {
  // SQLite's global memory statistics take a mutex around every allocation; nothing here reads
  // them, and they cost the writer several percent. Only possible before SQLite initialises,
  // hence the first connection; a no-op (SQLITE_MISUSE, ignored) if something else came first.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  int rc = uri.empty() ? sqlite3_open_v2(path.c_str(), &db_, open_flags, nullptr)
                       : sqlite3_open_v2(uri.c_str(), &db_, open_flags | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw SqlError(path.string() + ": cannot open session file: " + message, rc & 0xff);
  }
  sqlite3_extended_result_codes(db_, 0);
}

Connection::~Connection() {
  if (db_) sqlite3_close_v2(db_);
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

void Connection::exec(const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw SqlError(path_.string() + ": " + message, rc & 0xff);
  }
}

Statement Connection::prepare(std::string_view sql) { return Statement(db_, sql); }

int64_t Connection::query_int(std::string_view sql) {
  Statement statement(db_, sql);
  if (!statement.step())
    throw SqlError(path_.string() + ": no result from " + std::string(sql), SQLITE_ERROR);
  return statement.column_int(0);
}

std::string Connection::query_text(std::string_view sql) {
  Statement statement(db_, sql);
  if (!statement.step())
    throw SqlError(path_.string() + ": no result from " + std::string(sql), SQLITE_ERROR);
  return statement.column_text(0);
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  SQL_CHECK(db_, sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &stmt_, nullptr));
}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  SQL_CHECK(db_, sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, double value) {
  SQL_CHECK(db_, sqlite3_bind_double(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  SQL_CHECK(db_, sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::byte> bytes) {
  // A zero-length blob stays a blob (not NULL): SQLite treats a null pointer as NULL.
  static const std::byte empty{};
  SQL_CHECK(db_, sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &empty : bytes.data(), bytes.size(),
                                     SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::bind_pointer(int index, void* pointer, const char* type) {
  SQL_CHECK(db_, sqlite3_bind_pointer(stmt_, index, pointer, type, nullptr));
  return *this;
}

Statement& Statement::bind_null(int index) {
  SQL_CHECK(db_, sqlite3_bind_null(stmt_, index));
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sql_error(db_, rc, "sqlite3_step", __FILE__, __LINE__);
}

void Statement::run() {
  int rc = sqlite3_step(stmt_);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    sqlite3_reset(stmt_);
    throw_sql_error(db_, rc, sqlite3_sql(stmt_), __FILE__, __LINE__);
  }
  sqlite3_reset(stmt_);
}

void Statement::reset() { sqlite3_reset(stmt_); }

std::string Statement::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size)) : std::string();
}

std::span<const std::byte> Statement::column_blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (!data || size <= 0) return {};
  return {static_cast<const std::byte*>(data), static_cast<size_t>(size)};
}

Transaction::Transaction(Connection& connection)
    : connection_(&connection), nested_(sqlite3_get_autocommit(connection.get()) == 0) {
  connection_->exec(nested_ ? "SAVEPOINT moescope_nested" : "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!open_) return;
  if (nested_) {
    sqlite3_exec(connection_->get(), "ROLLBACK TO moescope_nested; RELEASE moescope_nested", nullptr, nullptr,
                 nullptr);
  } else {
    sqlite3_exec(connection_->get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  connection_->exec(nested_ ? "RELEASE moescope_nested" : "COMMIT");
  open_ = false;
}

}  // namespace moescope::sessions

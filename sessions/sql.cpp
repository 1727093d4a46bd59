#include "sessions/sql.h"

#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace moescope::sessions {

namespace {

// The comma-separated items of a parenthesised list, split outside quotes ('it''s' stays whole).
std::vector<std::string> list_items(std::string_view list) {
  std::vector<std::string> items(1);
  bool quoted = false;
  for (char c : list) {
    if (c == '\'') quoted = !quoted;
    if (c == ',' && !quoted) {
      items.emplace_back();
      continue;
    }
    if (!items.back().empty() || c != ' ') items.back() += c;
  }
  return items;
}

// The text between the '(' at or after `from` and its ')', or empty.
std::string_view parenthesised(std::string_view text, size_t from) {
  const size_t open = text.find('(', from);
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return {};
  return text.substr(open + 1, close - open - 1);
}

// "table 'runs' (status='bogus', tag='code', ...)" for a row an INSERT could not store: the table
// from the statement, each column paired with the value bound to it (from SQLite's expanded SQL,
// made only now, on failure). Just the table when the statement is not a plain INSERT.
std::string describe_rejected_row(sqlite3_stmt* statement) {
  const std::string_view sql = sqlite3_sql(statement);
  const size_t into = sql.find("INTO ");
  const size_t update = sql.find("UPDATE ");
  size_t name_begin = into != std::string_view::npos     ? into + 5
                      : update != std::string_view::npos ? update + 7
                                                         : 0;
  if (name_begin == 0) return "a row";
  const size_t name_end = sql.find_first_of("( ", name_begin);
  std::string out = "a row for table '" + std::string(sql.substr(name_begin, name_end - name_begin)) + "'";
  if (into == std::string_view::npos) return out;
  char* expanded = sqlite3_expanded_sql(statement);
  if (!expanded) return out;
  const std::string_view values_sql(expanded);
  const size_t values_at = values_sql.find("VALUES");
  const auto columns = list_items(parenthesised(sql.substr(0, sql.find("VALUES")), name_begin));
  const auto values = values_at == std::string_view::npos ? std::vector<std::string>{}
                                                          : list_items(parenthesised(values_sql, values_at));
  if (columns.size() == values.size()) {
    constexpr size_t kMaxShownValueBytes = 48;
    out += " (";
    for (size_t i = 0; i < columns.size(); ++i) {
      const std::string& value = values[i];
      out += (i ? ", " : "") + columns[i] + "=" +
             (value.size() > kMaxShownValueBytes ? value.substr(0, kMaxShownValueBytes) + "..." : value);
    }
    out += ")";
  }
  sqlite3_free(expanded);
  return out;
}

// A constraint of the session file's tables (CHECK, NOT NULL, UNIQUE) refused what moescope wrote:
// the error names the row and its values, not the SQL text and the source file of the call. Made
// before the statement is reset, while its message and bindings are those of the failed step.
SqlError constraint_error(sqlite3* db, sqlite3_stmt* statement, int rc) {
  const char* db_file = sqlite3_db_filename(db, "main");
  const std::string where = db_file && *db_file ? std::string(db_file) + ": " : std::string();
  return SqlError(
      where + "the session file refused " + describe_rejected_row(statement) + ": " + sqlite3_errmsg(db),
      rc & 0xff);
}

}  // namespace

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
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    SqlError error = constraint_error(db_, stmt_, rc);
    sqlite3_reset(stmt_);
    throw error;
  }
  throw_sql_error(db_, rc, "sqlite3_step", __FILE__, __LINE__);
}

void Statement::run() {
  int rc = sqlite3_step(stmt_);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      SqlError error = constraint_error(db_, stmt_, rc);
      sqlite3_reset(stmt_);
      throw error;
    }
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

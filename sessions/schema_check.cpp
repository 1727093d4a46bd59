#include "sessions/schema_check.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sessions/schema.h"

namespace moescope::sessions {
namespace {

// What SQLite says about one schema object, as lines a person can read in an error message.
struct SchemaObject {
  std::string type;      // "table" or "index" (triggers and views are refused before this)
  std::string table;     // the table an index belongs to; the table itself for a table
  std::vector<std::string> columns;  // tables: "name TYPE NOT NULL ..."; indexes: "name ASC BINARY"
  std::vector<std::string> details;  // WITHOUT ROWID, STRICT, foreign keys, UNIQUE, partial
  std::string sql;                   // the CREATE statement, whitespace normalised ("" for autoindexes)
};
using Schema = std::map<std::string, SchemaObject>;  // by name (tables and indexes share a namespace)

// The CREATE statement with runs of whitespace outside quotes collapsed, none kept next to brackets
// and commas, and plain identifiers unquoted ("tokens" is tokens: ALTER TABLE ... RENAME writes the
// new name quoted), so only a change of meaning (a CHECK, a DEFAULT, an index's expression or
// WHERE) tells two statements apart.
std::string normalised_sql(const std::string& sql) {
  auto plain_identifier = [](std::string_view name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
    for (char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    }
    return true;
  };
  auto tight = [](char c) { return c == '(' || c == ')' || c == ','; };
  std::string out;
  char quote = 0;
  size_t quote_start = 0;
  bool pending_space = false;
  for (char c : sql) {
    if (quote) {
      out += c;
      if (c == quote) {
        const std::string_view inside = std::string_view(out).substr(quote_start + 1, out.size() - quote_start - 2);
        if (quote != '\'' && plain_identifier(inside)) out = out.substr(0, quote_start) + std::string(inside);
        quote = 0;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty() && !tight(out.back()) && !tight(c)) out += ' ';
    pending_space = false;
    if (c == '\'' || c == '"' || c == '`' || c == '[') {
      quote = c == '[' ? ']' : c;
      quote_start = out.size();
    }
    out += c;
  }
  return out;
}

std::string text_or(const Statement& row, int column, const std::string& fallback) {
  return row.column_is_null(column) ? fallback : row.column_text(column);
}

void describe_table(Connection& connection, const std::string& name, SchemaObject& object) {
  Statement columns = connection.prepare(
      "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1, 'main') ORDER BY cid");
  columns.bind(1, name);
  while (columns.step()) {
    std::string column = columns.column_text(0) + " " + columns.column_text(1);
    if (columns.column_int(2)) column += " NOT NULL";
    if (!columns.column_is_null(3)) column += " DEFAULT " + columns.column_text(3);
    if (columns.column_int(4)) column += " PRIMARY KEY (key column " + std::to_string(columns.column_int(4)) + ")";
    if (columns.column_int(5)) column += " hidden or generated (" + std::to_string(columns.column_int(5)) + ")";
    object.columns.push_back(std::move(column));
  }
  Statement kind = connection.prepare("SELECT wr, strict FROM pragma_table_list WHERE schema = 'main' AND name = ?1");
  kind.bind(1, name);
  if (kind.step()) {
    if (kind.column_int(0)) object.details.push_back("WITHOUT ROWID");
    if (kind.column_int(1)) object.details.push_back("STRICT");
  }
  Statement keys = connection.prepare(
      "SELECT \"from\", \"table\", \"to\", on_update, on_delete, match FROM pragma_foreign_key_list(?1, 'main')"
      " ORDER BY id, seq");
  keys.bind(1, name);
  while (keys.step()) {
    object.details.push_back("foreign key " + keys.column_text(0) + " REFERENCES " + keys.column_text(1) + "(" +
                             text_or(keys, 2, "") + ") ON UPDATE " + keys.column_text(3) + " ON DELETE " +
                             keys.column_text(4) + " MATCH " + keys.column_text(5));
  }
}

void describe_index(Connection& connection, const std::string& name, SchemaObject& object) {
  Statement columns = connection.prepare(
      "SELECT cid, name, \"desc\", coll, key FROM pragma_index_xinfo(?1, 'main') ORDER BY seqno");
  columns.bind(1, name);
  while (columns.step()) {
    // cid -2 is an expression (zeroblob(...) and the like), -1 the rowid.
    std::string column = columns.column_int(0) == -2 ? "<expression>" : text_or(columns, 1, "rowid");
    column += columns.column_int(2) ? " DESC" : " ASC";
    column += " " + text_or(columns, 3, "") + (columns.column_int(4) ? "" : " (auxiliary)");
    object.columns.push_back(std::move(column));
  }
  Statement flags = connection.prepare(
      "SELECT \"unique\", origin, partial FROM pragma_index_list(?1, 'main') WHERE name = ?2");
  flags.bind(1, object.table).bind(2, name);
  if (flags.step()) {
    if (flags.column_int(0)) object.details.push_back("UNIQUE");
    object.details.push_back("made by " + flags.column_text(1));
    if (flags.column_int(2)) object.details.push_back("partial (WHERE ...)");
  }
}

Schema describe_schema(Connection& connection) {
  Schema schema;
  Statement objects = connection.prepare("SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY rowid");
  while (objects.step()) {
    SchemaObject& object = schema[objects.column_text(1)];
    object.type = objects.column_text(0);
    object.table = objects.column_text(2);
    object.sql = normalised_sql(text_or(objects, 3, ""));
  }
  for (auto& [name, object] : schema) {
    if (object.type == "table") describe_table(connection, name, object);
    if (object.type == "index") describe_index(connection, name, object);
  }
  return schema;
}

// This build's schema at `version`, built once per process from its own migrations.
const Schema& expected_schema(int32_t version) {
  static std::mutex mutex;
  static std::map<int32_t, Schema> built;
  std::lock_guard lock(mutex);
  auto it = built.find(version);
  if (it != built.end()) return it->second;
  Connection memory(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY);
  for (const Migration& migration : migrations()) {
    if (migration.to_version <= version) memory.exec(std::string(migration.sql).c_str());
  }
  return built.emplace(version, describe_schema(memory)).first->second;
}

[[noreturn]] void refuse_schema(Connection& connection, const std::string& why) {
  throw InputError(connection.path().string() + ": " + why);
}

[[noreturn]] void refuse_foreign(Connection& connection, const std::string& why) {
  refuse_schema(connection, why + "; this file was not written by moescope");
}

std::string named(const std::string& type, const std::string& name, const SchemaObject& object) {
  std::string text = type + " '" + name + "'";
  if (type == "index") text += " on table '" + object.table + "'";
  return text;
}

void compare_lines(Connection& connection, const std::string& what, const char* kind,
                   const std::vector<std::string>& found, const std::vector<std::string>& expected) {
  for (size_t i = 0; i < std::max(found.size(), expected.size()); ++i) {
    if (i < found.size() && i < expected.size() && found[i] == expected[i]) continue;
    std::string has = i < found.size() ? "'" + found[i] + "'" : "nothing";
    std::string wants = i < expected.size() ? "'" + expected[i] + "'" : "nothing";
    refuse_foreign(connection, what + " has " + has + " as " + kind + " " + std::to_string(i + 1) +
                                   " where moescope has " + wants);
  }
}

// The column names first, with the messages files of older builds were refused with.
void compare_column_names(Connection& connection, const std::string& table, const std::vector<std::string>& found,
                          const std::vector<std::string>& expected) {
  auto name_of = [](const std::string& column) { return column.substr(0, column.find(' ')); };
  for (size_t i = 0; i < found.size(); ++i) {
    if (i >= expected.size() || name_of(found[i]) != name_of(expected[i])) {
      refuse_schema(connection, "not a valid moescope session (table '" + table + "' has unexpected column '" +
                             name_of(found[i]) + "')");
    }
  }
  if (found.size() < expected.size()) {
    refuse_schema(connection, "not a valid moescope session (table '" + table + "' lacks column '" +
                           name_of(expected[found.size()]) + "')");
  }
}

}  // namespace

void check_schema(Connection& connection, int32_t version) {
  // Triggers and views first, before anything could make SQLite look inside them.
  {
    Statement objects = connection.prepare("SELECT type, name FROM main.sqlite_schema");
    while (objects.step()) {
      std::string type = objects.column_text(0);
      if (type == "trigger" || type == "view") {
        refuse_schema(connection,
               "contains a " + type + " ('" + objects.column_text(1) + "'); moescope session files never do");
      }
    }
  }
  const Schema& expected = expected_schema(version);
  Schema found;
  try {
    found = describe_schema(connection);
  } catch (const SqlError& e) {
    // A virtual table of a module this SQLite lacks, and the like.
    refuse_foreign(connection, std::string("cannot read the file's schema (") + sqlite3_errstr(e.code) + ")");
  }
  for (const auto& [name, object] : expected) {
    if (object.type == "table" && !found.contains(name))
      refuse_schema(connection, "not a valid moescope session (table '" + name + "' is missing)");
  }
  for (const auto& [name, object] : found) {
    if (!expected.contains(name)) refuse_foreign(connection, "unexpected " + named(object.type, name, object));
  }
  for (const auto& [name, want] : expected) {
    auto it = found.find(name);
    if (it == found.end()) refuse_foreign(connection, named(want.type, name, want) + " is missing");
    const SchemaObject& have = it->second;
    const std::string what = named(want.type, name, want);
    if (have.type != want.type || have.table != want.table) {
      refuse_foreign(connection, "'" + name + "' is " + named(have.type, name, have) + ", expected " + what);
    }
    if (want.type == "table") compare_column_names(connection, name, have.columns, want.columns);
    compare_lines(connection, what, "column", have.columns, want.columns);
    compare_lines(connection, what, "property", have.details, want.details);
    if (have.sql != want.sql) refuse_foreign(connection, what + " is declared differently (constraints, defaults or expressions)");
  }
}

}  // namespace moescope::sessions

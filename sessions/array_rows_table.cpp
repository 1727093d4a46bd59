#include "sessions/array_rows_table.h"

#include <new>

#include "sessions/sql.h"

namespace moescope::sessions {
namespace array_rows_vtab {

constexpr int kRowsArgument = kArrayRowsColumns;  // HIDDEN: the bound ArrayRows pointer

struct ArrayCursor {
  sqlite3_vtab_cursor base{};
  const ArrayRows* rows = nullptr;
  int64_t row = 0;
};

ArrayCursor& cursor_of(sqlite3_vtab_cursor* base) { return *reinterpret_cast<ArrayCursor*>(base); }

int array_connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** table, char**) {
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(c0, c1, c2, c3, c4, c5, c6, c7, rows HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *table = static_cast<sqlite3_vtab*>(sqlite3_malloc(sizeof(sqlite3_vtab)));
  if (*table == nullptr) return SQLITE_NOMEM;
  **table = sqlite3_vtab{};
  return SQLITE_OK;
}

int array_disconnect(sqlite3_vtab* table) {
  sqlite3_free(table);
  return SQLITE_OK;
}

// The only plan: the rows argument as the filter's one value. Without it the table is empty.
int array_best_index(sqlite3_vtab*, sqlite3_index_info* info) {
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& constraint = info->aConstraint[i];
    if (constraint.iColumn == kRowsArgument && constraint.op == SQLITE_INDEX_CONSTRAINT_EQ && constraint.usable) {
      info->aConstraintUsage[i].argvIndex = 1;
      info->aConstraintUsage[i].omit = 1;
      info->idxNum = 1;
      break;
    }
  }
  info->estimatedCost = 1;
  return SQLITE_OK;
}

int array_open(sqlite3_vtab*, sqlite3_vtab_cursor** cursor) {
  auto* created = new (std::nothrow) ArrayCursor;
  if (created == nullptr) return SQLITE_NOMEM;
  *cursor = &created->base;
  return SQLITE_OK;
}

int array_close(sqlite3_vtab_cursor* base) {
  delete &cursor_of(base);
  return SQLITE_OK;
}

int array_filter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc, sqlite3_value** argv) {
  ArrayCursor& cursor = cursor_of(base);
  cursor.rows = idx_num == 1 && argc == 1
                    ? static_cast<const ArrayRows*>(sqlite3_value_pointer(argv[0], kArrayRowsPointerType))
                    : nullptr;
  cursor.row = 0;
  return SQLITE_OK;
}

int array_next(sqlite3_vtab_cursor* base) {
  ++cursor_of(base).row;
  return SQLITE_OK;
}

int array_eof(sqlite3_vtab_cursor* base) {
  const ArrayCursor& cursor = cursor_of(base);
  return cursor.rows == nullptr || cursor.row >= cursor.rows->n_rows;
}

template <class T>
const T& element(const ArrayColumn& column, int64_t row) {
  return *reinterpret_cast<const T*>(column.first + static_cast<size_t>(row) * column.stride);
}

int array_column(sqlite3_vtab_cursor* base, sqlite3_context* context, int index) {
  const ArrayCursor& cursor = cursor_of(base);
  if (index < 0 || index >= kArrayRowsColumns) return SQLITE_OK;  // the hidden argument reads as NULL
  const ArrayColumn& column = cursor.rows->columns[static_cast<size_t>(index)];
  const int64_t row = cursor.row;
  switch (column.kind) {
    case ArrayColumn::Kind::constant:
      sqlite3_result_int64(context, column.constant);
      break;
    case ArrayColumn::Kind::int64:
      sqlite3_result_int64(context, element<int64_t>(column, row));
      break;
    case ArrayColumn::Kind::int32:
      sqlite3_result_int64(context, element<int32_t>(column, row));
      break;
    case ArrayColumn::Kind::boolean:
      sqlite3_result_int64(context, element<bool>(column, row) ? 1 : 0);
      break;
    case ArrayColumn::Kind::real:
      sqlite3_result_double(context, element<double>(column, row));
      break;
    case ArrayColumn::Kind::optional_real: {
      const auto& value = element<std::optional<double>>(column, row);
      if (value) sqlite3_result_double(context, *value);  // none stays NULL
      break;
    }
    case ArrayColumn::Kind::text: {
      const auto& text = element<std::string>(column, row);
      sqlite3_result_text64(context, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
      break;
    }
  }
  return SQLITE_OK;
}

int array_rowid(sqlite3_vtab_cursor* base, sqlite3_int64* id) {
  *id = cursor_of(base).row;
  return SQLITE_OK;
}

// Eponymous only (no xCreate): the table exists in every schema of the connection, read-only.
sqlite3_module array_rows_module() {
  sqlite3_module module{};
  module.xConnect = array_connect;
  module.xBestIndex = array_best_index;
  module.xDisconnect = array_disconnect;
  module.xDestroy = array_disconnect;
  module.xOpen = array_open;
  module.xClose = array_close;
  module.xFilter = array_filter;
  module.xNext = array_next;
  module.xEof = array_eof;
  module.xColumn = array_column;
  module.xRowid = array_rowid;
  return module;
}

const sqlite3_module kArrayRowsModule = array_rows_module();

}  // namespace array_rows_vtab

void register_array_rows_table(sqlite3* db) {
  SQL_CHECK(db, sqlite3_create_module_v2(db, kArrayRowsPointerType, &array_rows_vtab::kArrayRowsModule, nullptr,
                                         nullptr));
}

}  // namespace moescope::sessions

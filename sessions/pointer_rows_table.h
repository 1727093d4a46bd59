// The SQLite plumbing shared by the writer's row tables (routing_rows_table.h, array_rows_table.h):
// an eponymous, read-only, DIRECTONLY virtual table whose rows come from a C++ object bound with
// sqlite3_bind_pointer to its one HIDDEN argument column. SQL text cannot forge such a pointer, and
// without one the table is empty. Each table says only how many rows the object has and what a
// column of a row holds:
//
//   struct MyTable {
//     using Rows = MyRows;                      // what the bound pointer points to
//     struct Scratch {};                        // per-cursor buffers the columns need (may be empty)
//     static constexpr const char* kPointerType = "moescope_my_rows";  // also the table's name
//     static constexpr const char* kDeclaration = "CREATE TABLE x(a, b, rows HIDDEN)";
//     static constexpr int kRowsArgument = 2;   // the HIDDEN column's index
//     static int64_t count(const Rows& rows);
//     static void column(const Rows& rows, int64_t row, Scratch& scratch, sqlite3_context* context, int index);
//   };
//   register_pointer_rows_table<MyTable>(db);   // then: INSERT INTO t SELECT a, b FROM moescope_my_rows(?1)
//
// `column` is called for columns 0 .. kRowsArgument - 1 only (the argument itself reads as NULL);
// leaving the result unset gives NULL.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <new>

#include "sessions/sql.h"

namespace moescope::sessions {
namespace pointer_rows_detail {

template <class Table>
struct Cursor {
  sqlite3_vtab_cursor base{};  // first: SQLite hands back &base
  const typename Table::Rows* rows = nullptr;
  int64_t row = 0;
  int64_t n_rows = 0;
  typename Table::Scratch scratch{};
};

template <class Table>
struct Module {
  static Cursor<Table>& cursor_of(sqlite3_vtab_cursor* base) { return *reinterpret_cast<Cursor<Table>*>(base); }

  static int connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** table, char**) {
    int rc = sqlite3_declare_vtab(db, Table::kDeclaration);
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    *table = static_cast<sqlite3_vtab*>(sqlite3_malloc(sizeof(sqlite3_vtab)));
    if (*table == nullptr) return SQLITE_NOMEM;
    **table = sqlite3_vtab{};
    return SQLITE_OK;
  }

  static int disconnect(sqlite3_vtab* table) {
    sqlite3_free(table);
    return SQLITE_OK;
  }

  // The only plan: the rows argument as the filter's one value. Without it the table is empty.
  static int best_index(sqlite3_vtab*, sqlite3_index_info* info) {
    for (int i = 0; i < info->nConstraint; ++i) {
      const auto& constraint = info->aConstraint[i];
      if (constraint.iColumn == Table::kRowsArgument && constraint.op == SQLITE_INDEX_CONSTRAINT_EQ &&
          constraint.usable) {
        info->aConstraintUsage[i].argvIndex = 1;
        info->aConstraintUsage[i].omit = 1;
        info->idxNum = 1;
        break;
      }
    }
    info->estimatedCost = 1;
    return SQLITE_OK;
  }

  static int open(sqlite3_vtab*, sqlite3_vtab_cursor** cursor) {
    auto* created = new (std::nothrow) Cursor<Table>;
    if (created == nullptr) return SQLITE_NOMEM;
    *cursor = &created->base;
    return SQLITE_OK;
  }

  static int close(sqlite3_vtab_cursor* base) {
    delete &cursor_of(base);
    return SQLITE_OK;
  }

  static int filter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc, sqlite3_value** argv) {
    Cursor<Table>& cursor = cursor_of(base);
    cursor.rows = idx_num == 1 && argc == 1 ? static_cast<const typename Table::Rows*>(
                                                  sqlite3_value_pointer(argv[0], Table::kPointerType))
                                            : nullptr;
    cursor.row = 0;
    cursor.n_rows = cursor.rows ? Table::count(*cursor.rows) : 0;
    return SQLITE_OK;
  }

  static int next(sqlite3_vtab_cursor* base) {
    ++cursor_of(base).row;
    return SQLITE_OK;
  }

  static int eof(sqlite3_vtab_cursor* base) { return cursor_of(base).row >= cursor_of(base).n_rows; }

  static int column(sqlite3_vtab_cursor* base, sqlite3_context* context, int index) {
    Cursor<Table>& cursor = cursor_of(base);
    if (index < 0 || index >= Table::kRowsArgument) return SQLITE_OK;  // the hidden argument reads as NULL
    Table::column(*cursor.rows, cursor.row, cursor.scratch, context, index);
    return SQLITE_OK;
  }

  static int rowid(sqlite3_vtab_cursor* base, sqlite3_int64* id) {
    *id = cursor_of(base).row;
    return SQLITE_OK;
  }

  // Eponymous only (no xCreate): the table exists in every schema of the connection, read-only.
  static sqlite3_module make() {
    sqlite3_module module{};
    module.xConnect = connect;
    module.xBestIndex = best_index;
    module.xDisconnect = disconnect;
    module.xDestroy = disconnect;
    module.xOpen = open;
    module.xClose = close;
    module.xFilter = filter;
    module.xNext = next;
    module.xEof = eof;
    module.xColumn = column;
    module.xRowid = rowid;
    return module;
  }

  static inline const sqlite3_module kModule = make();
};

}  // namespace pointer_rows_detail

// Registers Table's module on `db` under Table::kPointerType (once per connection).
template <class Table>
void register_pointer_rows_table(sqlite3* db) {
  SQL_CHECK(db, sqlite3_create_module_v2(db, Table::kPointerType, &pointer_rows_detail::Module<Table>::kModule,
                                         nullptr, nullptr));
}

}  // namespace moescope::sessions

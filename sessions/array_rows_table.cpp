#include "sessions/array_rows_table.h"

#include "sessions/pointer_rows_table.h"

namespace moescope::sessions {
namespace array_rows_vtab {

template <class T>
const T& element(const ArrayColumn& column, int64_t row) {
  return *reinterpret_cast<const T*>(column.first + static_cast<size_t>(row) * column.stride);
}

struct ArrayRowsTable {
  using Rows = ArrayRows;
  struct Scratch {};
  static constexpr const char* kPointerType = kArrayRowsPointerType;
  static constexpr const char* kDeclaration = "CREATE TABLE x(c0, c1, c2, c3, c4, c5, c6, c7, rows HIDDEN)";
  static constexpr int kRowsArgument = kArrayRowsColumns;

  static int64_t count(const ArrayRows& rows) { return rows.n_rows; }

  static void column(const ArrayRows& rows, int64_t row, Scratch&, sqlite3_context* context, int index) {
    const ArrayColumn& column = rows.columns[static_cast<size_t>(index)];
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
  }
};

}  // namespace array_rows_vtab

void register_array_rows_table(sqlite3* db) { register_pointer_rows_table<array_rows_vtab::ArrayRowsTable>(db); }

}  // namespace moescope::sessions

// Rows built from arrays the caller holds, as an eponymous virtual table, so a run's tokens, expert
// hits and capacity overflow go in with one `INSERT INTO t SELECT c0, c1, ... FROM
// moescope_array_rows(?1)` each instead of one bound statement per row (binds, step and reset per
// row were most of an imported request's CPU, docs/perf.md). The routing rows have their own table
// (routing_rows_table.h), which also encodes float16 on the way.
//
// Each column reads element i of a strided array (a member of a vector of structs, or a plain
// vector) or is one constant for every row; nothing is copied. The rows travel as a pointer bound
// with sqlite3_bind_pointer under kArrayRowsPointerType, so SQL text cannot forge one; without one
// the table is empty. DIRECTONLY, as the routing table.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

namespace moescope::sessions {

inline constexpr const char* kArrayRowsPointerType = "moescope_array_rows";
inline constexpr int kArrayRowsColumns = 8;  // c0 .. c7

struct ArrayColumn {
  enum class Kind : uint8_t { constant, int64, int32, boolean, real, optional_real, text };
  Kind kind = Kind::constant;
  int64_t constant = 0;
  const std::byte* first = nullptr;  // element 0
  size_t stride = 0;                 // bytes from one element to the next

  static ArrayColumn of_constant(int64_t value) { return {Kind::constant, value, nullptr, 0}; }
  // Element i is `*(first + i * stride)`: `of(&records[0].member, sizeof(Record))`, or `of(values.data())`.
  template <class T>
  static ArrayColumn of(const T* first, size_t stride = sizeof(T)) {
    return {kind_of<T>(), 0, reinterpret_cast<const std::byte*>(first), stride};
  }

 private:
  template <class T>
  static constexpr Kind kind_of() {
    if constexpr (std::is_same_v<T, int64_t>) return Kind::int64;
    else if constexpr (std::is_same_v<T, int32_t>) return Kind::int32;
    else if constexpr (std::is_same_v<T, bool>) return Kind::boolean;
    else if constexpr (std::is_same_v<T, double>) return Kind::real;
    else if constexpr (std::is_same_v<T, std::optional<double>>) return Kind::optional_real;  // none: NULL
    else if constexpr (std::is_same_v<T, std::string>) return Kind::text;
    else static_assert(sizeof(T) == 0, "no SQL type for this column's element");
  }
};

struct ArrayRows {
  int64_t n_rows = 0;
  std::array<ArrayColumn, kArrayRowsColumns> columns{};  // those past the INSERT's own read as 0
};

// Registers `moescope_array_rows` on `db` (once per connection). Columns c0..c7, then the hidden
// argument.
void register_array_rows_table(sqlite3* db);

}  // namespace moescope::sessions

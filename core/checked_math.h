// Sizes that reach an allocation come from untrusted headers and configs: every product is checked.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace moescope {

// a * b, or an InputError naming `what` when the product does not fit in 63 bits.
inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t out = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &out)) {
    fail_input(what + ": size overflows 64-bit arithmetic (" + std::to_string(a) + " x " +
               std::to_string(b) + ")");
  }
  return out;
}

inline int64_t checked_add(int64_t a, int64_t b, const std::string& what) {
  int64_t out = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &out)) {
    fail_input(what + ": size overflows 64-bit arithmetic (" + std::to_string(a) + " + " +
               std::to_string(b) + ")");
  }
  return out;
}

}  // namespace moescope

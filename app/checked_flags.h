// Validators for numeric flags that CLI11's own checks let through: CLI::Range passes NaN (every
// comparison with NaN is false), and CLI11 reads integers with strtoull/strtoll in base 0, so
// "-1" became seed 18446744073709551615, "1e999" an infinity and "010" the number 8. These read
// the flag's text strictly and refuse with the allowed range named.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>

namespace moescope {

// A finite decimal number in [min, max] ("nan", "inf", "-0x1p9999" and "1e999" refused).
CLI::Validator finite_number_in(double min, double max);
// A decimal integer in [min, max]: digits with an optional leading '-', nothing else.
CLI::Validator integer_in(int64_t min, int64_t max);

// The most CPU threads a run may ask for: beyond this a process limit, not speed, decides.
inline constexpr int64_t kMaxCpuThreads = 256;
// The largest seed: a SQLite integer (signed 64-bit), so every consumer reads it back as given.
inline constexpr int64_t kMaxSeed = INT64_MAX;

}  // namespace moescope

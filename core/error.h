// Errors inside moescope are exceptions carrying one clear line; the app boundary (CLI verb, GUI
// dialog) catches them and shows that line. Input validation uses these, never assert.
#pragma once

#include <stdexcept>
#include <string>

namespace moescope {

// Bad user data: a file, a config value, a prompt. The message names the file or value and what
// was expected.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The machine cannot do what was asked (no CUDA GPU, not enough memory, disk full).
struct ResourceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail_input(const std::string& message) { throw InputError(message); }

}  // namespace moescope

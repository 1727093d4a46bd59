// Shared by the fuzz targets: a private scratch folder for the targets whose parser takes a path,
// and the rule for what a parser may throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace moescope::fuzz {

// A folder of this process's own (in /dev/shm when there is one: file-based targets write every
// input), removed when the process exits.
const std::filesystem::path& scratch_dir();

// Writes `size` bytes to scratch_dir()/name, replacing what was there; returns the path.
std::filesystem::path write_input(const std::string& name, const uint8_t* data, size_t size);

// Stops the run as a finding: an invariant the parser promises does not hold for this input.
[[noreturn]] void violated(const char* what);

}  // namespace moescope::fuzz

// A parser's contract: bad input is an InputError (or a ResourceError such as a SQLite error); any
// other exception escapes to libFuzzer, which reports it as a crash.
#define MOESCOPE_FUZZ_EXPECTED_ERRORS            \
  catch (const moescope::InputError&) {          \
  }                                              \
  catch (const moescope::ResourceError&) {       \
  }

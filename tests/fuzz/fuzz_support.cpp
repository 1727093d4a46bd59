#include "tests/fuzz/fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace moescope::fuzz {

namespace {

std::filesystem::path make_scratch_dir() {
  std::error_code ec;
  const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : std::filesystem::temp_directory_path();
  std::string pattern = (base / "moescope-fuzz-XXXXXX").string();
  if (!mkdtemp(pattern.data())) {
    std::perror("moescope fuzz: mkdtemp");
    std::abort();
  }
  return pattern;
}

struct ScratchDir {
  std::filesystem::path path = make_scratch_dir();
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::filesystem::path& scratch_dir() {
  static ScratchDir dir;
  return dir.path;
}

std::filesystem::path write_input(const std::string& name, const uint8_t* data, size_t size) {
  auto path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::perror("moescope fuzz: writing the input file");
    std::abort();
  }
  return path;
}

void violated(const char* what) {
  std::fprintf(stderr, "moescope fuzz: invariant violated: %s\n", what);
  std::abort();
}

}  // namespace moescope::fuzz

#include "tests/fuzz/fuzz_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

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
  // Plain POSIX calls: a stream would allocate (and ASan fill) its buffer for every input.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t written = 0;
  while (fd >= 0 && written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  if (fd < 0 || written != size || ::close(fd) != 0) {
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

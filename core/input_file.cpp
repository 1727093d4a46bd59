#include "core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace moescope {
namespace {

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

[[noreturn]] void refuse_kind(const std::filesystem::path& file, mode_t mode) {
  fail_input(file.string() + ": is " + kind_of(mode) + ", expected a regular file");
}

// The file's fd, refused unless a regular file. stat first so a FIFO is never opened; O_NONBLOCK
// too, and fstat again, in case the path was swapped for a FIFO between the two calls.
int open_regular(const std::filesystem::path& file) {
  require_regular_file(file);
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_input(file.string() + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const mode_t mode = st.st_mode;
    ::close(fd);
    refuse_kind(file, mode);
  }
  return fd;
}

[[noreturn]] void refuse_size(const std::filesystem::path& file, size_t max_bytes) {
  fail_input(file.string() + ": file is larger than the " + std::to_string(max_bytes) +
             " bytes accepted for it");
}

// read() that retries on EINTR; InputError naming the file on a read error.
size_t read_some(int fd, char* into, size_t count, const std::filesystem::path& file) {
  while (true) {
    const ssize_t got = ::read(fd, into, count);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) fail_input(file.string() + ": read failed: " + std::strerror(errno));
  }
}

}  // namespace

void require_regular_file(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    const int error = errno;
    if (error == ELOOP) fail_input(file.string() + ": is a loop of symbolic links, expected a regular file");
    fail_input(file.string() + ": cannot read: " + std::strerror(error));
  }
  if (!S_ISREG(st.st_mode)) refuse_kind(file, st.st_mode);
}

std::string read_regular_file(const std::filesystem::path& file, size_t max_bytes) {
  const int fd = open_regular(file);
  struct stat st {};
  ::fstat(fd, &st);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    fail_input(file.string() + ": file is " + std::to_string(st.st_size) + " bytes, more than the " +
               std::to_string(max_bytes) + " accepted for it");
  }
  std::string bytes;
  try {
    bytes.resize(static_cast<size_t>(st.st_size) + 1);  // one more: a read that fills it grew past stat
    size_t used = 0;
    while (true) {
      if (used == bytes.size()) {
        if (used > max_bytes) refuse_size(file, max_bytes);
        bytes.resize(std::min(max_bytes + 1, used * 2 + 4096));
      }
      const size_t got = read_some(fd, bytes.data() + used, bytes.size() - used, file);
      if (got == 0) break;
      used += got;
    }
    if (used > max_bytes) refuse_size(file, max_bytes);
    bytes.resize(used);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return bytes;
}

LineReader::LineReader(const std::filesystem::path& file, size_t max_line_bytes, size_t max_file_bytes)
    : file_(file),
      max_line_bytes_(max_line_bytes),
      max_file_bytes_(max_file_bytes),
      fd_(open_regular(file)) {}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool LineReader::fill() {
  if (at_end_) return false;
  constexpr size_t kChunkBytes = 1u << 16;
  if (buffer_start_ > 0) {  // drop the lines already handed out
    buffer_.erase(0, buffer_start_);
    buffer_start_ = 0;
  }
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + kChunkBytes);
  const size_t got = read_some(fd_, buffer_.data() + old_size, kChunkBytes, file_);
  buffer_.resize(old_size + got);
  bytes_read_ += got;
  if (bytes_read_ > max_file_bytes_) refuse_size(file_, max_file_bytes_);
  if (got == 0) at_end_ = true;
  return got > 0;
}

bool LineReader::next(std::string& line) {
  size_t searched = buffer_start_;
  while (true) {
    const size_t newline = buffer_.find('\n', searched);
    if (newline != std::string::npos) {
      line.assign(buffer_, buffer_start_, newline - buffer_start_);
      buffer_start_ = newline + 1;
      ++line_number_;
      return true;
    }
    if (buffer_.size() - buffer_start_ > max_line_bytes_) {
      fail_input(file_.string() + ":" + std::to_string(line_number_ + 1) + ": line is longer than the " +
                 std::to_string(max_line_bytes_) + " bytes accepted");
    }
    searched = buffer_.size();
    const size_t consumed = buffer_start_;
    if (!fill()) break;
    searched -= consumed;  // fill() dropped the consumed prefix
  }
  if (buffer_start_ == buffer_.size()) return false;
  line.assign(buffer_, buffer_start_, std::string::npos);
  buffer_start_ = buffer_.size();
  ++line_number_;
  return true;
}

}  // namespace moescope

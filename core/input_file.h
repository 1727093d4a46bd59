// Reading a file the user named: it must be a regular file, and it is read with a size cap fit
// for its kind. A FIFO, a device (/dev/zero, /dev/urandom), a socket or a folder is refused
// before it is opened, so nothing blocks on a writer that never comes or streams without end; a
// regular file over its cap is refused before its bytes are read. Every file input goes through
// here (config.json, tokenizer files, checkpoint indexes, prompt sets, session headers).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace moescope {

// Caps per kind of file, each far above what a real one of that kind holds.
inline constexpr size_t kMaxConfigJsonBytes = 16u << 20;        // config.json, tokenizer_config.json
inline constexpr size_t kMaxCheckpointIndexBytes = 256u << 20;  // model.safetensors.index.json
inline constexpr size_t kMaxPromptLineBytes = 16u << 20;        // one JSON line of a prompt set
inline constexpr size_t kMaxPromptSetBytes = 1u << 30;          // a whole prompt set

// InputError "FILE: is a FIFO, expected a regular file" (a folder, device, socket, link loop or
// missing file alike) unless `file` (links followed) is a regular file. Uses stat, never open.
void require_regular_file(const std::filesystem::path& file);

// The whole of a regular file, at most `max_bytes` (InputError naming the file, its size and the
// cap otherwise). The size is checked as read, not only from stat, so a file that grows while
// read (or a /proc file stat reports as empty) is held to the cap too.
std::string read_regular_file(const std::filesystem::path& file, size_t max_bytes);

// A regular file read one line at a time ('\n' ends a line and is not kept), each line at most
// `max_line_bytes` and the file at most `max_file_bytes`; InputError "FILE:LINE: ..." otherwise.
class LineReader {
 public:
  LineReader(const std::filesystem::path& file, size_t max_line_bytes, size_t max_file_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // False at the end of the file.
  bool next(std::string& line);
  int line_number() const { return line_number_; }

 private:
  bool fill();  // more bytes into buffer_; false at the end of the file

  std::filesystem::path file_;
  size_t max_line_bytes_;
  size_t max_file_bytes_;
  int fd_ = -1;
  std::string buffer_;
  size_t buffer_start_ = 0;
  size_t bytes_read_ = 0;
  int line_number_ = 0;
  bool at_end_ = false;
};

}  // namespace moescope

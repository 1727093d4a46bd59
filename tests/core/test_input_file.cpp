// Focus: files the user names are read only when they are regular files, and only up to a cap fit
// for their kind. A FIFO, a device, a socket, a folder or a loop of links is refused at once (a
// FIFO would block forever in open or read, /dev/zero would grow without end); a file over its cap
// or a line over its cap is refused with the file, the line and the cap named.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/input_file.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

// The InputError message of `action`, or "" when it did not throw one.
template <typename F>
std::string input_error(F&& action) {
  try {
    action();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(InputFile, Case1_RegularFileIsReadWhole) {
  const auto file = test::scratch_dir("input-regular") / "config.json";
  std::ofstream(file, std::ios::binary) << "{\"a\": 1}\n";
  EXPECT_EQ(read_regular_file(file, 64), "{\"a\": 1}\n");
}

TEST(InputFile, Case2_FileOverItsCapIsRefusedWithTheCapNamed) {
  const auto file = test::scratch_dir("input-cap") / "config.json";
  std::ofstream(file, std::ios::binary) << std::string(100, 'x');
  const std::string message = input_error([&] { read_regular_file(file, 99); });
  EXPECT_NE(message.find(file.string() + ": file is 100 bytes, more than the 99 accepted"), std::string::npos)
      << message;
  EXPECT_EQ(read_regular_file(file, 100).size(), 100u);
}

TEST(InputFile, Case3_FifoIsRefusedWithoutBlocking) {
  const auto fifo = test::scratch_dir("input-fifo") / "config.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No writer ever opens it: reading it, or opening it for reading, would block this test forever.
  EXPECT_NE(input_error([&] {
              read_regular_file(fifo, 1 << 20);
            }).find("is a FIFO (named pipe), expected a regular file"),
            std::string::npos);
  EXPECT_NE(input_error([&] { LineReader reader(fifo, 1024, 1 << 20); }).find("is a FIFO"),
            std::string::npos);
}

TEST(InputFile, Case4_DevicesFoldersSocketsAndLinkLoopsAreRefused) {
  const auto dir = test::scratch_dir("input-special");
  EXPECT_NE(
      input_error([] { read_regular_file("/dev/zero", 1 << 20); }).find("/dev/zero: is a character device"),
      std::string::npos);
  EXPECT_NE(input_error([] { read_regular_file("/dev/urandom", 1 << 20); }).find("is a character device"),
            std::string::npos);
  EXPECT_NE(
      input_error([&] { read_regular_file(dir, 1 << 20); }).find("is a folder, expected a regular file"),
      std::string::npos);
  // A link to /dev/zero is followed and refused as what it leads to.
  fs::create_symlink("/dev/zero", dir / "config.json");
  EXPECT_NE(
      input_error([&] { read_regular_file(dir / "config.json", 1 << 20); }).find("is a character device"),
      std::string::npos);
  fs::create_symlink(dir / "loop-b", dir / "loop-a");
  fs::create_symlink(dir / "loop-a", dir / "loop-b");
  EXPECT_NE(
      input_error([&] { read_regular_file(dir / "loop-a", 1 << 20); }).find("is a loop of symbolic links"),
      std::string::npos);

  const auto socket_path = dir / "s.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(socket_path.string().size(), sizeof address.sun_path);
  std::strcpy(address.sun_path, socket_path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_NE(input_error([&] { read_regular_file(socket_path, 1 << 20); }).find("is a socket"),
            std::string::npos);
  ::close(fd);

  EXPECT_NE(input_error([&] { require_regular_file(dir / "missing.json"); }).find("cannot read"),
            std::string::npos);
}

TEST(InputFile, Case5_LinesAreReadOneAtATimeWithTheirNumbers) {
  const auto file = test::scratch_dir("input-lines") / "prompts.jsonl";
  std::ofstream(file, std::ios::binary) << "one\n\ntwo\r\nlast without newline";
  LineReader reader(file, 64, 1024);
  std::string line;
  std::vector<std::pair<int, std::string>> lines;
  while (reader.next(line)) lines.emplace_back(reader.line_number(), line);
  const std::vector<std::pair<int, std::string>> expected = {
      {1, "one"}, {2, ""}, {3, "two\r"}, {4, "last without newline"}};
  EXPECT_EQ(lines, expected);
}

TEST(InputFile, Case6_LongLineIsRefusedAtItsNumberBeforeItIsHeldWhole) {
  const auto file = test::scratch_dir("input-long-line") / "prompts.jsonl";
  {
    std::ofstream out(file, std::ios::binary);
    out << "short\n" << std::string(300'000, 'x') << "\nafter\n";
  }
  LineReader reader(file, 100'000, 1 << 30);
  std::string line;
  ASSERT_TRUE(reader.next(line));
  const std::string message = input_error([&] { reader.next(line); });
  EXPECT_NE(message.find(file.string() + ":2: line is longer than the 100000 bytes accepted"),
            std::string::npos)
      << message;
}

TEST(InputFile, Case7_WholeFileCapHoldsForLineReading) {
  const auto file = test::scratch_dir("input-file-cap") / "prompts.jsonl";
  {
    std::ofstream out(file, std::ios::binary);
    for (int i = 0; i < 20'000; ++i) out << "{\"text\": \"a prompt\"}\n";
  }
  LineReader reader(file, 1024, 100'000);
  std::string line;
  const std::string message = input_error([&] {
    while (reader.next(line)) {
    }
  });
  EXPECT_NE(message.find("file is larger than the 100000 bytes accepted"), std::string::npos) << message;
}

}  // namespace
}  // namespace moescope

#include "tests/support/test_paths.h"
#include "tests/support/sanitizer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

namespace moescope::test {

std::filesystem::path golden_dir() { return MOESCOPE_GOLDEN_DIR; }
std::filesystem::path golden_model(const std::string& name) { return golden_dir() / "models" / name; }
std::filesystem::path source_dir() { return MOESCOPE_SOURCE_DIR; }
std::filesystem::path moescope_binary() { return MOESCOPE_BINARY; }

std::filesystem::path scratch_dir(const std::string& label) {
  auto dir = std::filesystem::temp_directory_path() /
             ("moescope-test-" + label + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::filesystem::path demo_prompt_set(const std::string& set, const std::filesystem::path& dir) {
  const auto all = source_dir() / "assets" / "prompts" / (set + ".jsonl");
  if (!kSanitizerAllocator) return all;
  const auto first = dir / (set + ".jsonl");
  std::ifstream in(all);
  std::ofstream out(first);
  std::string line;
  for (int n = 0; n < 4 && std::getline(in, line); ++n) out << line << "\n";
  return first;
}

}  // namespace moescope::test

// Focus: load through the binary, as a user records. `moescope record` takes 1,000 very short
// prompts back to back into one session on mixtral-tiny. While it runs, this test samples the
// process's resident set from /proc/<pid>/status and reads the session with SessionReader: memory
// stays flat after warm-up (only SQLite's page cache may grow, by at most the pages the file
// gained), the reader never fails ("database is locked" or otherwise) and sees the run count only
// grow, and at the end all 1,000 runs are complete.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "sessions/reader.h"
#include "tests/support/sanitizer.h"
#include "tests/support/test_paths.h"

extern char** environ;

namespace moescope {
namespace {

namespace fs = std::filesystem;

// Anonymous resident memory (heap, stacks, SQLite's page cache): what a leak grows. VmRSS also
// counts the shared libraries' file pages, which a CUDA build's binary (CUDA runtime, cuBLAS) maps
// by the hundred megabytes and touches as it goes; those are not the process's memory use.
int64_t resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::stoll(line.substr(8));
  return -1;
}

int64_t file_kib(const fs::path& db) {
  std::error_code ec;
  int64_t bytes = 0;
  for (const char* suffix : {"", "-wal"}) {
    const auto size = fs::file_size(db.string() + suffix, ec);
    if (!ec) bytes += static_cast<int64_t>(size);
  }
  return bytes / 1024;
}

struct Sample {
  size_t runs = 0;
  int64_t rss_kib = 0;
  int64_t file_kib = 0;
};

TEST(RecordLoad, Case1_ThousandPromptsBackToBackKeepMemoryFlatWhileAReaderReads) {
  if (resident_kib(getpid()) < 0) GTEST_SKIP() << "no RssAnon in /proc/<pid>/status here";
  constexpr size_t kPrompts = 1000;
  const auto dir = test::scratch_dir("record-load");
  {
    std::ofstream prompts(dir / "prompts.jsonl");
    for (size_t i = 0; i < kPrompts; ++i) prompts << R"({"text": "x )" << i << R"(", "tag": ")" << (i % 2 ? "code" : "verse") << "\"}\n";
  }
  const fs::path db = dir / "load.db";
  const std::string binary = test::moescope_binary().string(), model = test::golden_model("mixtral-tiny").string(),
                    prompts = (dir / "prompts.jsonl").string(), db_arg = db.string(), log = (dir / "record.log").string();
  std::vector<std::string> args = {binary, "record", "--model", model, "--prompts", prompts, "--db", db_arg,
                                   "--max-new-tokens", "1", "--threads", "1"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  std::vector<Sample> samples;
  std::string reader_error;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    Sample s;
    s.rss_kib = resident_kib(pid);
    s.file_kib = file_kib(db);
    if (fs::exists(db)) {
      try {
        s.runs = sessions::SessionReader(db).runs().size();
      } catch (const std::exception& e) {
        // The writer creating the file (before the schema exists) is the one moment a reader may
        // be turned away; after the first run any failure is a finding.
        if (!samples.empty() && samples.back().runs > 0 && reader_error.empty()) reader_error = e.what();
      }
    }
    if (s.rss_kib > 0) samples.push_back(s);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream log_in(log);
  const std::string output{std::istreambuf_iterator<char>(log_in), {}};
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_EQ(reader_error, "");
  for (size_t i = 1; i < samples.size(); ++i) EXPECT_GE(samples[i].runs, samples[i - 1].runs) << "the run count went back";

  // After warm-up (100 runs) against the end: growth beyond what the page cache may hold is a leak.
  auto warm = std::find_if(samples.begin(), samples.end(), [](const Sample& s) { return s.runs >= 100; });
  ASSERT_NE(warm, samples.end()) << "too few samples: " << samples.size();
  const Sample& end = samples.back();
  int64_t peak = 0;
  for (auto it = warm; it != samples.end(); ++it) peak = std::max(peak, it->rss_kib);
  std::printf("record of %zu prompts: %zu samples; anonymous resident set %lld KiB at %zu runs, peak %lld KiB after; file grew %lld KiB\n",
              kPrompts, samples.size(), static_cast<long long>(warm->rss_kib), warm->runs, static_cast<long long>(peak),
              static_cast<long long>(end.file_kib - warm->file_kib));
  // The file can shrink when the WAL is checkpointed, so only its growth counts; the resident set may
  // grow by what the file grew (SQLite's page cache) plus a fixed slack, never with the run count.
  if (!test::kSanitizerAllocator) {
    EXPECT_LT(peak - warm->rss_kib, std::max<long long>(0, end.file_kib - warm->file_kib) + 8 * 1024);
  }

  sessions::SessionReader reader(db);
  const auto runs = reader.runs();
  ASSERT_EQ(runs.size(), kPrompts);
  for (const auto& run : runs) EXPECT_EQ(run.status, "complete") << "run " << run.id;
  EXPECT_EQ(reader.runs_with_tag("code").size(), kPrompts / 2);
}

}  // namespace
}  // namespace moescope

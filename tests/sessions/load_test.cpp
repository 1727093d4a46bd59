// Focus: load. A thousand runs recorded back to back into one session keep the process's memory
// flat (resident set sampled from /proc), and a reader opened while a run is being written reads
// every committed run without "database is locked".
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "sessions/reader.h"
#include "sessions/recorder.h"
#include "tests/sessions/synthetic_run.h"
#include "tests/support/sanitizer.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

int64_t resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST(Load, Case1_ThousandRunsBackToBackKeepMemoryFlat) {
  if (resident_kib() < 0) GTEST_SKIP() << "no /proc/self/status here";
  auto db = test::scratch_dir("thousand") / "s.db";
  sessions::SessionWriter writer(db, "test");
  int64_t model_id = writer.add_model(test::synthetic_model());
  const test::SyntheticSpec spec{.prompt_tokens = 8, .decode_steps = 4, .ep_ranks = 0};
  int64_t after_warmup = 0;
  int64_t file_kib_at_warmup = 0;
  for (int run = 0; run < 1000; ++run) {
    test::SyntheticSpec seeded = spec;
    seeded.seed = static_cast<uint64_t>(run);
    test::record_synthetic_run(writer, model_id, seeded, run % 2 ? "code" : "verse");
    if (run == 99) {
      writer.flush();
      after_warmup = resident_kib();
      file_kib_at_warmup = static_cast<int64_t>(std::filesystem::file_size(db) / 1024);
    }
  }
  writer.flush();
  int64_t at_end = resident_kib();
  int64_t file_growth_kib = static_cast<int64_t>(std::filesystem::file_size(db) / 1024) - file_kib_at_warmup;
  std::printf("resident set after 100 runs: %lld KiB, after 1000: %lld KiB; the file grew by %lld KiB\n",
              static_cast<long long>(after_warmup), static_cast<long long>(at_end),
              static_cast<long long>(file_growth_kib));
  // The only thing allowed to grow is SQLite's page cache (capped at 64 MiB), which can at most hold
  // the pages the file gained; anything kept per run (queues, statements, step copies) would add to
  // that. 4 MiB of slack for the allocator.
  if (!test::kSanitizerAllocator) {  // sanitizer allocators hold freed memory
    EXPECT_LT(at_end - after_warmup, file_growth_kib + 4 * 1024);
  }
  EXPECT_EQ(sessions::SessionReader(db).runs().size(), 1000u);
}

}  // namespace
}  // namespace moescope

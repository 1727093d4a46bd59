// Focus: `moescope placement` on recorded demo runs and `run --ep-degree R --placement FILE` using
// its output: the balanced placement never has a heavier rank (summed over layers) than the
// contiguous one, the file round-trips into an EP run, and mismatched or replicated placements
// are refused with one clear line.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sessions/placement_file.h"
#include "sessions/reader.h"
#include "tests/support/cli_checks.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

const std::filesystem::path kPlacementDemo = test::source_dir() / "assets" / "models" / "demo-moe";

TEST(PlacementCli, BalancedPlacementRoundTripsIntoAnEpRun) {
  const auto dir = test::scratch_dir("placement");
  const auto db = dir / "runs.moescope";
  const std::string bin = test::moescope_binary().string();
  for (const char* prompt : {"'int main(void) { return 0; }'", "'for (i = 0; i < n; ++i) sum += a[i];'"}) {
    auto r = test::run_command(bin + " run --model " + kPlacementDemo.string() +
                               " --tag code --max-new-tokens 2 --prompt " + prompt + " --db " + db.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const auto placement = dir / "placement.json";
  auto r = test::run_command(bin + " placement --db " + db.string() +
                             " --tag code --ranks 4 --method balanced --json --out " + placement.string() +
                             " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = nlohmann::json::parse(r.output);
  ASSERT_EQ(out["layers"].size(), 4u);
  // The placement balances the load summed over layers: its heaviest rank there is no heavier than
  // the contiguous placement's (on this data; LPT packing is not optimal in general).
  std::vector<double> before(4, 0.0), after(4, 0.0);
  for (const auto& layer : out["layers"]) {
    std::vector<double> b = layer["rank_load_before"], a = layer["rank_load_after"];
    ASSERT_EQ(b.size(), 4u);
    for (int rank = 0; rank < 4; ++rank) before[rank] += b[rank], after[rank] += a[rank];
  }
  EXPECT_LE(*std::max_element(after.begin(), after.end()), *std::max_element(before.begin(), before.end()));
  const auto file = sessions::read_placement_file(placement);
  EXPECT_EQ(file.n_ranks, 4);
  EXPECT_EQ(file.ranks_of_expert.size(), 8u);

  r = test::run_command(bin + " run --model " + kPlacementDemo.string() +
                        " --prompt 'x = 1' --max-new-tokens 1 --ep-degree 4 "
                        "--placement " +
                        placement.string() + " --db " + db.string() + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  sessions::SessionReader reader(db);
  const int64_t last = reader.runs().back().id;
  EXPECT_FALSE(reader.all_to_all(last).empty());

  test::expect_one_clear_line(test::run_command(bin + " run --model " + kPlacementDemo.string() +
                                                " --prompt x --ep-degree 2 "
                                                "--placement " +
                                                placement.string() + " --no-record 2>&1"),
                              "--ep-degree is 2");
  const auto replicated = dir / "eplb.json";
  r = test::run_command(bin + " placement --db " + db.string() +
                        " --tag code --ranks 4 --method eplb --replicas 2 --out " + replicated.string() +
                        " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::expect_one_clear_line(test::run_command(bin + " run --model " + kPlacementDemo.string() +
                                                " --prompt x --ep-degree 4 "
                                                "--placement " +
                                                replicated.string() + " --no-record 2>&1"),
                              "copies");
}

// Hostile placement files: each refused naming the file and the problem.
TEST(PlacementCli, MalformedFilesAreRefused) {
  const auto dir = test::scratch_dir("placement-bad");
  auto refused = [&](const std::string& text, const std::string& needle) {
    const auto path = dir / "p.json";
    std::ofstream(path) << text;
    try {
      sessions::read_placement_file(path);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
  };
  refused("{}", "not a moescope placement");
  refused("[1,2", "not a moescope placement");
  refused(R"({"format":"moescope-placement","version":2,"n_ranks":2,"ranks_of_expert":[[0]]})", "newer");
  refused(R"({"format":"moescope-placement","version":1,"n_ranks":2,"ranks_of_expert":[[0],[2]]})",
          "outside [0, 2)");
  refused(R"({"format":"moescope-placement","version":1,"n_ranks":2,"ranks_of_expert":[[0],[]]})",
          "has no rank");
  refused(R"({"format":"moescope-placement","version":1,"n_ranks":0,"ranks_of_expert":[[0]]})", "n_ranks");
}

}  // namespace
}  // namespace moescope

#include "sessions/placement_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace moescope::sessions {

namespace {
constexpr int kVersion = 1;
constexpr int32_t kMaxPlacementRanks = 1 << 16;
}  // namespace

nlohmann::json placement_json(const analysis::ExpertPlacement& placement, const std::string& method) {
  return {{"format", "moescope-placement"},
          {"version", kVersion},
          {"method", method},
          {"n_ranks", placement.n_ranks},
          {"n_experts", placement.ranks_of_expert.size()},
          {"ranks_of_expert", placement.ranks_of_expert}};
}

analysis::ExpertPlacement read_placement_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail_input(path.string() + ": cannot open the placement file");
  std::stringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, false);
  auto bad = [&](const std::string& what) -> void { fail_input(path.string() + ": " + what); };
  if (!j.is_object() || j.value("format", "") != "moescope-placement")
    bad("not a moescope placement file (written by `moescope placement --out`)");
  if (!j["version"].is_number_integer() || j["version"].get<int64_t>() > kVersion)
    bad("placement file version " + j["version"].dump() + " is newer than this moescope reads (" +
        std::to_string(kVersion) + ")");
  if (!j["n_ranks"].is_number_integer() || j["n_ranks"].get<int64_t>() < 1 ||
      j["n_ranks"].get<int64_t>() > kMaxPlacementRanks)
    bad("n_ranks must be an integer in [1, " + std::to_string(kMaxPlacementRanks) + "]");
  const auto& experts = j["ranks_of_expert"];
  if (!experts.is_array() || experts.empty()) bad("ranks_of_expert must be a non-empty array of rank lists");
  analysis::ExpertPlacement p;
  p.n_ranks = j["n_ranks"].get<int32_t>();
  for (size_t e = 0; e < experts.size(); ++e) {
    const auto& ranks = experts[e];
    if (!ranks.is_array() || ranks.empty()) bad("expert " + std::to_string(e) + " has no rank");
    std::vector<int32_t> list;
    for (const auto& r : ranks) {
      if (!r.is_number_integer() || r.get<int64_t>() < 0 || r.get<int64_t>() >= p.n_ranks)
        bad("expert " + std::to_string(e) + " names rank " + r.dump() + ", outside [0, " +
            std::to_string(p.n_ranks) + ")");
      list.push_back(r.get<int32_t>());
    }
    p.ranks_of_expert.push_back(std::move(list));
  }
  if (j.contains("n_experts") &&
      (!j["n_experts"].is_number_integer() ||
       j["n_experts"].get<int64_t>() != static_cast<int64_t>(p.ranks_of_expert.size())))
    bad("n_experts does not match the " + std::to_string(p.ranks_of_expert.size()) +
        " entries of ranks_of_expert");
  return p;
}

}  // namespace moescope::sessions

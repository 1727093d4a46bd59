#include "sessions/run_offload.h"

#include <string>

#include "core/error.h"

namespace moescope::sessions {

RunOffloadInput load_run_offload_input(SessionReader& reader, int64_t run_id) {
  RunOffloadInput input;
  input.run = reader.run(run_id);
  const std::string where = reader.path().string() + ": run " + std::to_string(run_id);
  if (input.run.status != "complete") {
    fail_input(where + " is " + input.run.status +
               (input.run.error.empty() ? "" : " (" + input.run.error + ")") +
               "; only complete runs can be replayed through an expert cache");
  }
  const analysis::RoutingArrays arrays = reader.routing(run_id, {.scores = false, .router_logits = false});
  if (arrays.n_layers == 0 || arrays.n_tokens == 0) {
    fail_input(where + " recorded no routing (" + std::to_string(arrays.n_layers) + " MoE layers, " +
               std::to_string(arrays.n_tokens) + " tokens); there is no expert lookup to replay");
  }
  input.trace = analysis::expert_lookup_trace(arrays);
  return input;
}

analysis::ExpertStorage run_expert_storage(SessionReader& reader, int64_t run_id) {
  const std::string where = reader.path().string() + ": run " + std::to_string(run_id);
  Statement query = reader.connection().prepare(
      "SELECT m.config_json FROM runs r JOIN models m ON m.id = r.model_id WHERE r.id = ?");
  query.bind(1, run_id);
  if (!query.step()) fail_input(where + " names a model the file does not hold");
  return analysis::expert_storage(query.column_text(0), where + "'s stored model config");
}

std::vector<analysis::HitRateCurve> run_hit_rate_curves(const RunOffloadInput& input) {
  const std::vector<int32_t> sizes = analysis::all_cache_sizes(input.trace);
  return analysis::hit_rate_curves(input.trace, kAllCachePolicies, sizes);
}

}  // namespace moescope::sessions

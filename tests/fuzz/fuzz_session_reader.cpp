// Fuzz target: the session reader on an arbitrary file given as a session (a damaged or hostile
// SQLite database). Everything the reader offers is read for every run the file lists; each must
// return data or an InputError/ResourceError, and routing must come back consistent with its run.
#include <cstddef>

#include "core/error.h"
#include "sessions/reader.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moescope;
  // A previous input's journal files would be replayed into this one.
  std::filesystem::remove(fuzz::scratch_dir() / "session.db-wal");
  std::filesystem::remove(fuzz::scratch_dir() / "session.db-shm");
  const auto path = fuzz::write_input("session.db", data, size);
  try {
    sessions::SessionReader reader(path);
    // All of this input's reads in one read transaction: SQLite takes its lock, looks for a hot
    // journal and re-reads the header once instead of once per query.
    reader.connection().exec("BEGIN");
    for (const auto& run : reader.runs()) {
      try {
        const auto routing = reader.routing(run.id, {.scores = true, .router_logits = true});
        const size_t cells = static_cast<size_t>(routing.n_layers) * static_cast<size_t>(routing.n_tokens);
        if (routing.topk_ids.size() != cells * static_cast<size_t>(routing.top_k) ||
            routing.token_ids.size() != static_cast<size_t>(routing.n_tokens))
          fuzz::violated("routing arrays disagree with their dimensions");
        for (int32_t id : routing.topk_ids)
          if (id < 0 || id >= routing.n_experts) fuzz::violated("an expert id outside [0, n_experts)");
        (void)reader.tokens(run.id);
        (void)reader.expert_hits(run.id);
        (void)reader.capacity_overflow(run.id);
        (void)reader.steps(run.id);
        (void)reader.timings(run.id);
        (void)reader.all_to_all(run.id);
        (void)reader.offload(run.id);
      }
      MOESCOPE_FUZZ_EXPECTED_ERRORS
    }
    (void)reader.runs_with_tag("code");
  }
  MOESCOPE_FUZZ_EXPECTED_ERRORS
  return 0;
}

// Fuzz target: the JSON capture readers of `moescope import` (SGLang responses and vLLM request
// outputs, sessions/importers/json_records.* and {sglang,vllm}_import.cpp) on an arbitrary capture
// file. Each input either imports, each request checked against the model's config, or fails with
// an InputError naming the record; a failed file leaves nothing behind (one transaction per file).
//
// Input: one selector byte, then the file's bytes. Selector bit 0: sglang (0) or vllm (1); bits
// 1-2: the model config (mixtral-tiny, qwen3-moe-tiny, deepseek-v3-tiny: a dense first layer); bit
// 3: a `.jsonl` file (0, read line by line) or a `.json` document (1). The seeds are the fixtures
// of tests/fixtures/import behind their selector (tests/fuzz/seeds/fuzz_capture_json).
#include <array>
#include <memory>
#include <string_view>

#include "core/error.h"
#include "sessions/importers/importers.h"
#include "sessions/sql.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// The golden models' config.json (tests/fixtures/golden/models/*/config.json), trimmed to the
// fields that size and route a model.
constexpr std::array<std::string_view, 3> kConfigs{
    R"({"model_type": "mixtral", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "num_local_experts": 8,
        "num_experts_per_tok": 2, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0})",
    R"({"model_type": "qwen3_moe", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
        "moe_intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 16, "num_experts": 16, "num_experts_per_tok": 4, "norm_topk_prob": true,
        "decoder_sparse_step": 1, "mlp_only_layers": [], "rms_norm_eps": 1e-06, "rope_theta": 1000000.0})",
    R"({"model_type": "deepseek_v3", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
        "moe_intermediate_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4,
        "n_shared_experts": 1, "n_routed_experts": 16, "routed_scaling_factor": 2.5, "kv_lora_rank": 32,
        "q_lora_rank": 48, "qk_rope_head_dim": 8, "v_head_dim": 16, "qk_nope_head_dim": 16,
        "topk_method": "noaux_tc", "n_group": 4, "topk_group": 2, "num_experts_per_tok": 4, "moe_layer_freq": 1,
        "first_k_dense_replace": 1, "norm_topk_prob": true, "scoring_func": "sigmoid", "rms_norm_eps": 1e-06,
        "rope_theta": 10000.0})"};

// One writer per config, each on its own session file, kept for the process: opening a session
// and creating its schema per input would cost more than the import. A session is started afresh
// every so often so the file stays small.
struct CaptureSession {
  std::filesystem::path db;
  std::filesystem::path config;
  std::unique_ptr<moescope::sessions::ImportWriter> writer;
  moescope::sessions::Connection check;  // a second connection: sees only what was committed
  int imports = 0;
};

CaptureSession& session_for(size_t model) {
  static std::array<CaptureSession, kConfigs.size()> sessions;
  CaptureSession& session = sessions[model];
  if (!session.writer || session.imports >= 256) {
    session.check = {};
    session.writer.reset();
    const std::string name = "model" + std::to_string(model);
    session.config = moescope::fuzz::write_input(name + ".json", reinterpret_cast<const uint8_t*>(kConfigs[model].data()),
                                                 kConfigs[model].size());
    session.db = moescope::fuzz::scratch_dir() / (name + ".db");
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(session.db.string() + suffix);
    session.writer = std::make_unique<moescope::sessions::ImportWriter>(session.db, session.config,
                                                                        moescope::sessions::ImportOptions{});
    session.check = moescope::sessions::Connection(session.db, SQLITE_OPEN_READONLY);
    session.imports = 0;
  }
  return session;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moescope;
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const auto format = (selector & 1) ? sessions::CaptureFormat::vllm : sessions::CaptureFormat::sglang;
  const size_t model = ((selector >> 1) & 3) % kConfigs.size();
  CaptureSession& session = session_for(model);
  const auto file = fuzz::write_input((selector & 8) ? "capture.json" : "capture.jsonl", data + 1, size - 1);

  sessions::ImportWriter& writer = *session.writer;
  const int64_t runs_before = writer.runs_written();
  const int64_t rows_before = writer.routing_rows_written();
  bool imported = false;
  try {
    sessions::import_capture_file(format, file, writer, "");
    imported = true;
  }
  MOESCOPE_FUZZ_EXPECTED_ERRORS
  ++session.imports;
  const int64_t runs = writer.runs_written() - runs_before;
  const int64_t rows = writer.routing_rows_written() - rows_before;
  if (!imported && (runs != 0 || rows != 0)) fuzz::violated("a failed file counted runs as written");
  // A file is one transaction: what the session holds is exactly what the writer says it committed.
  if (session.check.query_int("SELECT count(*) FROM runs") != writer.runs_written())
    fuzz::violated("the session's runs differ from the runs committed (a half-imported file?)");
  if (imported) {
    if (runs < 1) fuzz::violated("a file imported without a run");
    const auto n_moe_layers = static_cast<int64_t>(writer.moe_layers().size());
    if (rows < runs * n_moe_layers || rows % n_moe_layers != 0)
      fuzz::violated("routing rows are not whole tokens of every MoE layer");
  }
  return 0;
}

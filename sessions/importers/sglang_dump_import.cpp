// SGLang's expert distribution recorder in per-token ("detail") mode dumps pickled `.pt` files,
// which moescope never unpickles: a pickle can run any code. tools/import/sglang_dump_to_safetensors.py
// runs in the user's SGLang environment (torch.load with weights_only=True) and writes what this
// reads: a safetensors file with metadata format = "moescope-sglang-dump/1" (and sglang_version,
// rank), and per forward pass i = 0, 1, ... `topk_ids.i` (I32 [tokens, num_hidden_layers, top_k],
// logical expert ids, SGLang's own per-pass layout turned token-major) and `input_ids.i` (I32
// [tokens]). The whole dump is one run whose steps are the forward passes, so batching is captured
// and capacity overflow per step means what it means for recorded runs. Passes carry no request
// ids, so the run is the server's traffic, not one request.
#include <climits>
#include <cstring>
#include <map>

#include "core/error.h"
#include "core/safetensors.h"
#include "sessions/importers/engine_layout.h"
#include "sessions/importers/importers.h"

namespace moescope::sessions {

inline constexpr const char* kSglangDumpFormat = "moescope-sglang-dump/1";

void import_sglang_dump_file(const std::filesystem::path& file, ImportWriter& writer, const CaptureSource& file_source) {
  auto dump = open_safetensors(file);
  const std::string where = file.string();
  auto format = dump->header.metadata.find("format");
  if (format == dump->header.metadata.end() || format->second != kSglangDumpFormat)
    fail_input(where + ": not a converted SGLang dump (metadata format is not '" + std::string(kSglangDumpFormat) +
               "'); convert the .pt with tools/import/sglang_dump_to_safetensors.py");
  std::map<std::string, TensorView> tensors;
  for (size_t i = 0; i < dump->header.tensors.size(); ++i) tensors.emplace(dump->header.tensors[i].name, dump->view(i));

  const ModelConfig& config = writer.config();
  CapturedRequest request;
  request.request_id = file.stem().string();
  std::vector<int32_t> values;
  for (size_t pass = 0;; ++pass) {
    const std::string ids_name = "topk_ids." + std::to_string(pass);
    auto ids = tensors.find(ids_name);
    if (ids == tensors.end()) break;
    const std::string field = where + ", forward pass " + std::to_string(pass) + ", " + ids_name;
    const TensorView& view = ids->second;
    if (view.dtype() != DType::i32 || view.shape().size() != 3)
      fail_input(field + ": expected I32 [tokens, layers, top_k]");
    if (view.shape()[1] != config.num_layers)
      fail_input(field + ": " + std::to_string(view.shape()[1]) + " layers, the config has " +
                 std::to_string(config.num_layers) + " (num_hidden_layers)");
    if (view.shape()[2] != config.top_k)
      fail_input(field + ": top-" + std::to_string(view.shape()[2]) + ", the config routes to " +
                 std::to_string(config.top_k) + " experts (num_experts_per_tok)");
    const int64_t n_tokens = view.shape()[0];
    if (n_tokens < 1 || n_tokens > INT32_MAX) fail_input(field + ": no tokens");
    auto input = tensors.find("input_ids." + std::to_string(pass));
    if (input == tensors.end() || input->second.dtype() != DType::i32 || input->second.numel() != n_tokens)
      fail_input(field + ": input_ids." + std::to_string(pass) + " is missing or not I32 [" + std::to_string(n_tokens) + "]");
    const size_t at = values.size();
    values.resize(at + static_cast<size_t>(view.numel()));
    std::memcpy(values.data() + at, view.data, static_cast<size_t>(view.nbytes()));
    const size_t ids_at = request.prompt_ids.size();
    request.prompt_ids.resize(ids_at + static_cast<size_t>(n_tokens));
    std::memcpy(request.prompt_ids.data() + ids_at, input->second.data, static_cast<size_t>(n_tokens) * 4);
    request.step_tokens.push_back(static_cast<int32_t>(n_tokens));
  }
  if (request.step_tokens.empty()) fail_input(where + ": no forward passes (no 'topk_ids.0' tensor)");
  const auto n_positions = static_cast<int64_t>(request.prompt_ids.size());
  // Every token fed to a forward pass is an input of the server's traffic; which of them were
  // prompts and which fed-back generations the dump does not say.
  request.n_prompt_tokens = n_positions;
  take_engine_layout(values, n_positions, config, where + ", topk_ids", request);

  CaptureSource source = file_source;
  if (source.engine_version.empty()) {
    if (auto it = dump->header.metadata.find("sglang_version"); it != dump->header.metadata.end())
      source.engine_version = it->second;
  }
  writer.begin_file(file, source);
  writer.write(request);
  writer.commit_file();
}

}  // namespace moescope::sessions

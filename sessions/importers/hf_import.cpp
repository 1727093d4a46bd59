// transformers' `output_router_logits=True`: the router logits of every MoE layer, saved as a
// safetensors file holding `input_ids` (I32 or I64, [T] or [1, T]) and `router_logits.L` ([T, E] or
// [1, T, E], F32/BF16/F16) for each MoE layer L (the model's own layer index), the shape the
// forward returns per layer. Expert selection is not in the capture: the model's own routing rule
// (core/routing, from config.json) turns the logits into scores, top-k ids and weights, exactly as
// the CPU engine routes. DeepSeek-V3's noaux_tc rule also needs each layer's
// e_score_correction_bias: from `e_score_correction_bias.L` in the capture, else from the
// checkpoint beside config.json.
#include <cmath>
#include <map>
#include <optional>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/routing.h"
#include "core/safetensors.h"
#include "sessions/importers/importers.h"

namespace moescope::sessions {
namespace {

// The tensor's [T, width] view after dropping a leading batch dimension of 1, or an InputError.
void check_matrix(const TensorView& view, int64_t rows, int64_t width, const std::string& where) {
  std::vector<int64_t> shape = view.shape();
  if (shape.size() == 3 && shape[0] == 1) shape.erase(shape.begin());
  if (shape.size() != 2 || shape[0] != rows || shape[1] != width) {
    std::string got;
    for (int64_t d : view.shape()) got += (got.empty() ? "" : ", ") + std::to_string(d);
    fail_input(where + ": shape [" + got + "], expected [" + std::to_string(rows) + ", " + std::to_string(width) +
               "] (tokens x the config's routed experts)");
  }
  if (view.dtype() != DType::f32 && view.dtype() != DType::bf16 && view.dtype() != DType::f16)
    fail_input(where + ": dtype " + std::string(dtype_name(view.dtype())) + ", expected F32, BF16 or F16");
}

std::vector<float> correction_bias(const std::map<std::string, TensorView>& tensors, const ModelConfig& config,
                                   const std::filesystem::path& config_path, int32_t layer,
                                   std::optional<Checkpoint>& checkpoint, const std::string& where) {
  if (config.topk_method != TopkMethod::noaux_tc) return {};
  const std::string name = "e_score_correction_bias." + std::to_string(layer);
  std::vector<float> bias(static_cast<size_t>(config.n_routed_experts));
  if (auto it = tensors.find(name); it != tensors.end()) {
    if (it->second.numel() != config.n_routed_experts)
      fail_input(where + ", " + name + ": " + std::to_string(it->second.numel()) + " values, expected " +
                 std::to_string(config.n_routed_experts));
    convert_to_f32(it->second, 0, config.n_routed_experts, bias.data());
    return bias;
  }
  const std::string weight = "model.layers." + std::to_string(layer) + ".mlp.gate.e_score_correction_bias";
  try {
    if (!checkpoint) checkpoint = open_checkpoint(config_path.parent_path().empty() ? "." : config_path.parent_path());
  } catch (const InputError& e) {
    fail_input(where + ": the config's noaux_tc routing needs e_score_correction_bias per layer; the capture has no '" +
               name + "' and no checkpoint beside the config could be read (" + e.what() + ")");
  }
  bias = read_tensor_f32(*checkpoint, weight);
  if (static_cast<int64_t>(bias.size()) != config.n_routed_experts)
    fail_input(where + ": checkpoint tensor " + weight + " has " + std::to_string(bias.size()) + " values, expected " +
               std::to_string(config.n_routed_experts));
  return bias;
}

}  // namespace

void import_hf_file(const std::filesystem::path& file, ImportWriter& writer, const CaptureSource& file_source) {
  auto capture = open_safetensors(file);
  std::map<std::string, TensorView> tensors;
  for (size_t i = 0; i < capture->header.tensors.size(); ++i)
    tensors.emplace(capture->header.tensors[i].name, capture->view(i));
  const ModelConfig& config = writer.config();
  const std::string where = file.string();

  auto ids_it = tensors.find("input_ids");
  if (ids_it == tensors.end()) fail_input(where + ": no 'input_ids' tensor (the token ids the logits belong to)");
  const TensorView& ids_view = ids_it->second;
  if (ids_view.dtype() != DType::i32 && ids_view.dtype() != DType::i64)
    fail_input(where + ", input_ids: dtype " + std::string(dtype_name(ids_view.dtype())) + ", expected I32 or I64");
  if (ids_view.shape().empty() || ids_view.shape().size() > 2 || (ids_view.shape().size() == 2 && ids_view.shape()[0] != 1))
    fail_input(where + ", input_ids: expected shape [T] or [1, T]");
  const int64_t n_tokens = ids_view.numel();
  if (n_tokens < 1) fail_input(where + ", input_ids: no tokens");
  std::vector<float> ids_f32(static_cast<size_t>(n_tokens));
  convert_to_f32(ids_view, 0, n_tokens, ids_f32.data());

  // Every router_logits.L must be one of the config's MoE layers, and every MoE layer must be there.
  const std::vector<int32_t>& moe_layers = writer.moe_layers();
  for (const auto& [name, view] : tensors) {
    if (name.rfind("router_logits.", 0) != 0) continue;
    const std::string index = name.substr(14);
    bool known = false;
    for (int32_t layer : moe_layers) known = known || index == std::to_string(layer);
    if (!known)
      fail_input(where + ", " + name + ": not a MoE layer of the config (a capture of another model? the config has " +
                 std::to_string(moe_layers.size()) + " MoE layers from " + std::to_string(moe_layers.front()) + ")");
  }

  CapturedRequest request;
  request.request_id = file.stem().string();
  request.n_positions = n_tokens;
  request.n_prompt_tokens = n_tokens;
  request.prompt_ids.resize(static_cast<size_t>(n_tokens));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float id = ids_f32[static_cast<size_t>(t)];
    // I64 ids beyond int32 lose nothing here: the writer refuses any id outside the vocabulary.
    request.prompt_ids[static_cast<size_t>(t)] = id >= -2147483648.0f && id < 2147483648.0f ? static_cast<int32_t>(id) : -1;
  }
  const int64_t E = config.n_routed_experts;
  const int64_t k = config.top_k;
  const size_t per_layer_scores = static_cast<size_t>(n_tokens * E);
  const size_t per_layer_topk = static_cast<size_t>(n_tokens * k);
  request.router_logits.resize(moe_layers.size() * per_layer_scores);
  request.scores.resize(moe_layers.size() * per_layer_scores);
  request.topk_ids.resize(moe_layers.size() * per_layer_topk);
  request.topk_weights.resize(moe_layers.size() * per_layer_topk);
  std::optional<Checkpoint> checkpoint;
  for (size_t slot = 0; slot < moe_layers.size(); ++slot) {
    const std::string name = "router_logits." + std::to_string(moe_layers[slot]);
    auto it = tensors.find(name);
    if (it == tensors.end())
      fail_input(where + ": no '" + name + "' tensor; the config's MoE layer " + std::to_string(moe_layers[slot]) +
                 " is missing from the capture (a capture of another model?)");
    check_matrix(it->second, n_tokens, E, where + ", " + name);
    std::span<float> logits(request.router_logits.data() + slot * per_layer_scores, per_layer_scores);
    convert_to_f32(it->second, 0, static_cast<int64_t>(per_layer_scores), logits.data());
    for (size_t i = 0; i < per_layer_scores; ++i) {
      if (!std::isfinite(logits[i]))
        fail_input(where + ", " + name + ": non-finite logit at token " + std::to_string(i / static_cast<size_t>(E)));
    }
    const std::vector<float> bias =
        correction_bias(tensors, config, writer.config_path(), moe_layers[slot], checkpoint, where);
    route_tokens(config, logits, n_tokens, bias,
                 {.scores = std::span(request.scores.data() + slot * per_layer_scores, per_layer_scores),
                  .topk_ids = std::span(request.topk_ids.data() + slot * per_layer_topk, per_layer_topk),
                  .topk_weights = std::span(request.topk_weights.data() + slot * per_layer_topk, per_layer_topk)});
  }

  CaptureSource source = file_source;
  if (source.engine_version.empty()) {
    if (auto it = capture->header.metadata.find("transformers_version"); it != capture->header.metadata.end())
      source.engine_version = it->second;
  }
  writer.begin_file(file, source);
  writer.write(request);
  writer.commit_file();
}

}  // namespace moescope::sessions

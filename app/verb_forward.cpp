// `moescope forward`: one uncached pass over given token ids, written as safetensors. Outside checks
// rely on this contract: F32 logits [T, vocab]; per MoE layer L (the model's own index) F32
// router_logits.L [T, E], I32 topk_ids.L [T, k], F32 topk_weights.L [T, k] (final combine weights).
#include <charconv>
#include <map>

#include "app/engine_flags.h"
#include "app/verb_registry.h"
#include "core/engine_factory.h"
#include "core/error.h"
#include "core/model.h"
#include "core/safetensors.h"

namespace moescope {

namespace {

struct ForwardArgs {
  std::string model_dir;
  std::string token_ids;
  std::string backend = "cpu";
  std::string out;
  int64_t gpu_memory_cap = 0;
  std::string weights = "stored";
  OffloadFlags offload;
  bool fused_attention = false;
  bool fast_kernels = true;
  bool device_capture = true;
  DecodeRound2Flags round2;
  PrefillFlags prefill_paths;
};

std::vector<int32_t> parse_token_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    std::string_view item(text.data() + start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    int32_t id = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || id < 0)
      fail_input("--token-ids: \"" + std::string(item) + "\" is not a non-negative integer (expected e.g. 1,2,3)");
    ids.push_back(id);
    start = comma + 1;
  }
  return ids;
}

// Copies each MoE layer's routing of the single forward step.
struct RoutingToTensors : ForwardObserver {
  std::map<int32_t, RoutingEvent> events;
  std::map<int32_t, std::vector<float>> logits, weights;
  std::map<int32_t, std::vector<int32_t>> ids;
  void on_routing(const RoutingEvent& e) override {
    events[e.layer] = e;
    logits[e.layer].assign(e.router_logits.begin(), e.router_logits.end());
    weights[e.layer].assign(e.topk_weights.begin(), e.topk_weights.end());
    ids[e.layer].assign(e.topk_ids.begin(), e.topk_ids.end());
  }
};

void run_forward(const ForwardArgs& args) {
  const auto ids = parse_token_ids(args.token_ids);
  auto model = load_model(args.model_dir);
  const bool fp8_weights = apply_weights_flag(args.weights, *model);
  EngineOptions options;
  options.backend = parse_backend(args.backend);
  options.memory_cap_bytes = args.gpu_memory_cap;
  options.fp8_weights = fp8_weights;
  apply_offload_flags(args.offload, options);
  options.fused_attention = args.fused_attention;
  options.fast_kernels = args.fast_kernels;
  options.device_capture = args.device_capture;
  apply_decode_round2_flags(args.round2, options);
  apply_prefill_flags(args.prefill_paths, options);
  options.max_context = static_cast<int64_t>(ids.size());
  auto engine = create_engine(*model, options);
  RoutingToTensors routing;
  engine->set_observer(&routing);
  std::vector<float> logits;
  engine->forward(ids, true, logits);
  engine->set_observer(nullptr);

  const int64_t T = static_cast<int64_t>(ids.size());
  std::vector<OutputTensor> out;
  out.push_back(make_f32_tensor("logits", {T, model->config.vocab_size}, logits));
  for (const auto& [layer, event] : routing.events) {
    const std::string L = std::to_string(layer);
    out.push_back(make_f32_tensor("router_logits." + L, {T, event.n_experts}, routing.logits[layer]));
    out.push_back(make_i32_tensor("topk_ids." + L, {T, event.top_k}, routing.ids[layer]));
    out.push_back(make_f32_tensor("topk_weights." + L, {T, event.top_k}, routing.weights[layer]));
  }
  write_safetensors(args.out, out);
}

void add_forward(CLI::App& app) {
  auto args = std::make_shared<ForwardArgs>();
  auto* cmd = app.add_subcommand("forward", "One uncached forward pass over token ids; logits and routing to safetensors");
  cmd->add_option("--model", args->model_dir, "Checkpoint folder (config.json + safetensors)")->required();
  cmd->add_option("--token-ids", args->token_ids, "Comma-separated token ids, e.g. 1,2,3")->required();
  cmd->add_option("--backend", args->backend, "cpu or cuda")->capture_default_str();
  add_gpu_memory_cap_flag(*cmd, args->gpu_memory_cap);
  add_weights_flag(*cmd, args->weights);
  add_offload_flags(*cmd, args->offload);
  add_fused_attention_flag(*cmd, args->fused_attention);
  add_fast_kernels_flag(*cmd, args->fast_kernels);
  add_device_capture_flag(*cmd, args->device_capture);
  add_decode_round2_flags(*cmd, args->round2);
  add_prefill_flags(*cmd, args->prefill_paths);
  cmd->add_option("--out", args->out, "Output .safetensors file")->required();
  cmd->callback([args] { run_forward(*args); });
}

}  // namespace

MOESCOPE_REGISTER_VERB(forward, add_forward);

}  // namespace moescope

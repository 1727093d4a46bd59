#include "app/engine_flags.h"

#include "core/error.h"
#include "core/model_fp8.h"

namespace moescope {

void add_gpu_memory_cap_flag(CLI::App& cmd, int64_t& bytes) {
  cmd.add_option(
         "--gpu-memory-cap", bytes,
         "Device memory the CUDA engine may use, e.g. 20GB (0 = all free); a model over it is refused")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

void add_fused_attention_flag(CLI::App& cmd, bool& fused) {
  cmd.add_flag("--fused-attention", fused,
               "CUDA prefill attention through the fused flash-style kernel (not yet the default)");
}

void add_fast_kernels_flag(CLI::App& cmd, bool& fast) {
  cmd.add_flag(
         "--fast-kernels,!--no-fast-kernels", fast,
         "CUDA decode kernels of issue 16 (vectorised RMSNorm, streaming MLA projections, one-pass router "
         "logits; the default); --no-fast-kernels for the plain ones")
      ->capture_default_str();
}

void add_device_capture_flag(CLI::App& cmd, bool& capture) {
  cmd.add_flag(
         "--device-capture,!--no-device-capture", capture,
         "CUDA decode: routing and phase clocks captured on the GPU, copied once per step (the default); "
         "--no-device-capture for per-layer copies and event timings")
      ->capture_default_str();
}

void add_decode_round2_flags(CLI::App& cmd, DecodeRound2Flags& flags) {
  cmd.add_flag(
         "--fused-experts,!--no-fused-experts", flags.fused_experts,
         "CUDA decode: a MoE layer's routed and shared experts in one gate/up and one down+combine kernel "
         "(the default)")
      ->capture_default_str();
  cmd.add_flag(
         "--context-splits,!--no-context-splits", flags.context_splits,
         "CUDA decode attention: splits sized by the keys seen instead of the longest context (the default)")
      ->capture_default_str();
  cmd.add_flag("--fused-routing,!--no-fused-routing", flags.fused_routing,
               "CUDA decode: router logits, scores and top-k in one kernel (the default)")
      ->capture_default_str();
  cmd.add_flag(
         "--pdl,!--no-pdl", flags.programmatic_launch,
         "CUDA decode: kernels launched with programmatic dependent launch (each scheduled while the one "
         "before drains; the default)")
      ->capture_default_str();
  cmd.add_flag(
         "--fast-merge,!--no-fast-merge", flags.fast_merge,
         "CUDA decode attention: the split merge computes each split's weight once (not yet the default)")
      ->capture_default_str();
  cmd.add_flag("--warp-topk,!--no-warp-topk", flags.warp_topk,
               "CUDA routing: one warp a token, group-limited top-k by shuffles (not yet the default)")
      ->capture_default_str();
}

void apply_decode_round2_flags(const DecodeRound2Flags& flags, EngineOptions& options) {
  options.fused_experts = flags.fused_experts;
  options.context_splits = flags.context_splits;
  options.fused_routing = flags.fused_routing;
  options.programmatic_launch = flags.programmatic_launch;
  options.fast_merge = flags.fast_merge;
  options.warp_topk = flags.warp_topk;
}

void add_prefill_flags(CLI::App& cmd, PrefillFlags& flags) {
  cmd.add_flag(
         "--grouped-prefill,!--no-grouped-prefill", flags.grouped,
         "CUDA prefill: a MoE layer's routed experts as two grouped GEMMs instead of one GEMM per expert "
         "(not yet the default)")
      ->capture_default_str();
  cmd.add_flag(
         "--flash-prefill,!--no-flash-prefill", flags.flash,
         "CUDA prefill attention as FlashAttention-2 tiles with the softmax in registers, no score matrix in "
         "memory (not yet the default)")
      ->capture_default_str();
  cmd.add_flag("--fast-prefill-kernels,!--no-fast-prefill-kernels", flags.fast_kernels,
               "CUDA prefill: SwiGLU and the expert combine with 16-byte loads (not yet the default)")
      ->capture_default_str();
}

void apply_prefill_flags(const PrefillFlags& flags, EngineOptions& options) {
  options.grouped_prefill = flags.grouped;
  options.flash_prefill = flags.flash;
  options.fast_prefill_kernels = flags.fast_kernels;
}

void add_weights_flag(CLI::App& cmd, std::string& format) {
  cmd.add_option("--weights", format,
                 "stored (as the checkpoint has them) or fp8 (e4m3 in 128x128 blocks with f32 scales, quantised "
                 "at load; the CUDA engine keeps them in fp8 on the GPU)")
      ->capture_default_str();
}

void add_offload_flags(CLI::App& cmd, OffloadFlags& flags) {
  cmd.add_flag("--offload-experts", flags.offload,
               "CUDA: a model over --gpu-memory-cap (or the free memory) keeps its routed experts in pinned host "
               "memory and a per-layer cache of them on the GPU instead of being refused");
  cmd.add_option("--expert-cache-slots", flags.slots,
                 "With --offload-experts: at most N cached experts per MoE layer, offloading even when the model "
                 "fits (default: as many as fit)")
      ->check(CLI::Range(0, 1 << 20));
  cmd.add_option("--offload-policy", flags.policy, "With --offload-experts: the cache's eviction policy, lru or lfu")
      ->capture_default_str();
  cmd.add_flag("--offload-prefetch", flags.prefetch,
               "With --offload-experts, decode: start copying the next MoE layer's likely experts (its router on the "
               "current hidden state) during this layer (not yet measured on a GPU)");
}

void apply_offload_flags(const OffloadFlags& flags, EngineOptions& options) {
  if (!flags.offload && (flags.slots > 0 || flags.policy != "lru" || flags.prefetch))
    fail_input("--expert-cache-slots, --offload-policy and --offload-prefetch need --offload-experts");
  if (flags.offload && options.backend != Backend::cuda)
    fail_input("--offload-experts keeps experts in host memory for the cuda backend; the cpu backend holds them there already");
  options.offload_experts = flags.offload;
  options.expert_cache_slots = flags.slots;
  options.offload_policy = flags.policy;
  options.offload_prefetch = flags.prefetch;
}

void add_offload_settings(const Engine& engine, const EngineOptions& options, nlohmann::json& settings) {
  if (engine.info().expert_cache_slots <= 0) return;
  settings["offload_policy"] = options.offload_policy;
  settings["expert_cache_slots"] = engine.info().expert_cache_slots;
  if (options.offload_prefetch) settings["offload_prefetch"] = true;
}

bool apply_weights_flag(const std::string& format, Model& model) {
  const auto parsed = parse_weight_format(format);
  if (!parsed) fail_input("--weights " + format + ": expected stored or fp8");
  if (*parsed == WeightFormat::stored) return false;
  quantize_weights_fp8(model);
  return true;
}

}  // namespace moescope

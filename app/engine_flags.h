// Engine flags more than one verb takes, declared once so they read the same everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/engine.h"
#include "core/model.h"

namespace moescope {

// --gpu-memory-cap SIZE ("20GB", "512MiB" or bytes; 0 = all free memory) into `bytes`: the CUDA
// engine refuses a model over it before touching the GPU, so out-of-memory is testable anywhere.
void add_gpu_memory_cap_flag(CLI::App& cmd, int64_t& bytes);

// --fused-attention: the CUDA engine's prefill attention through its fused flash-style kernel.
void add_fused_attention_flag(CLI::App& cmd, bool& fused);

// --fast-kernels / --no-fast-kernels and --device-capture / --no-device-capture: the CUDA engine's
// decode kernels and on-device instrumentation, both on by default (core/engine.h's EngineOptions
// says what each switches); the --no- forms select the old paths for side-by-side runs.
void add_fast_kernels_flag(CLI::App& cmd, bool& fast);
void add_device_capture_flag(CLI::App& cmd, bool& capture);
// --fused-experts, --context-splits, --fused-routing and --pdl: the CUDA decode paths of issue 16's
// second round, all on by default; the --no- forms select the first round's (EngineOptions says
// what each switches).
struct DecodeRound2Flags {
  bool fused_experts = true;
  bool context_splits = true;
  bool fused_routing = true;
  bool programmatic_launch = true;
  bool fast_merge = false;  // --fast-merge: not yet the default (EngineOptions::fast_merge)
  bool warp_topk = false;   // --warp-topk: not yet the default (EngineOptions::warp_topk)
};
void add_decode_round2_flags(CLI::App& cmd, DecodeRound2Flags& flags);
void apply_decode_round2_flags(const DecodeRound2Flags& flags, EngineOptions& options);
// --grouped-prefill and --flash-prefill: the CUDA prefill paths of issue 16's third round, off by
// default until a GPU run measures them right and faster (EngineOptions says what each switches).
struct PrefillFlags {
  bool grouped = false;
  bool flash = false;
  bool fast_kernels = false;  // --fast-prefill-kernels
};
void add_prefill_flags(CLI::App& cmd, PrefillFlags& flags);
void apply_prefill_flags(const PrefillFlags& flags, EngineOptions& options);
// --weights stored|fp8 into `format`: fp8 quantises the linear weights at load, 128x128 blocks of
// e4m3 with f32 scales (core/model_fp8.h); the CUDA engine keeps them so (EngineOptions::fp8_weights).
void add_weights_flag(CLI::App& cmd, std::string& format);
// --offload-experts, --expert-cache-slots N, --offload-policy lru|lfu, --offload-prefetch (EngineOptions says what each
// does): a model over the GPU memory keeps its routed experts in host memory behind a GPU cache.
struct OffloadFlags {
  bool offload = false;
  int32_t slots = 0;
  std::string policy = "lru";
  bool prefetch = false;  // --offload-prefetch
};
void add_offload_flags(CLI::App& cmd, OffloadFlags& flags);
void apply_offload_flags(const OffloadFlags& flags, EngineOptions& options);
// The expert cache a run had, for its settings_json ({"offload_policy", "expert_cache_slots"}):
// nothing when its experts stayed on the GPU.
void add_offload_settings(const Engine& engine, const EngineOptions& options, nlohmann::json& settings);
// Applies --weights to a loaded model: an InputError for an unknown format; true for fp8, which the
// caller passes on as EngineOptions::fp8_weights.
bool apply_weights_flag(const std::string& format, Model& model);

}  // namespace moescope

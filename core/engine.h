// The one interface through which everything drives a model: a CPU reference implementation
// (core/cpu_engine.cpp) and a CUDA one (gpu/). Small on purpose, like ggml's backend interface.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/observer.h"

namespace moescope {

struct Model;
struct RoutingOverride;  // core/routing_override.h

enum class Backend : uint8_t { cpu, cuda };
enum class InstrumentLevel : uint8_t { off, counts, full };

struct EngineOptions {
  Backend backend = Backend::cpu;
  int n_threads = 0;  // CPU: 0 = all hardware threads
  InstrumentLevel instrumentation = InstrumentLevel::full;
  int64_t max_context = 4096;  // KV-cache capacity in tokens (capped by max_position_embeddings)
  // Capacity enforcement: when > 0, assignments beyond ceil(C*T*k/E) per expert in a forward
  // step are dropped from the forward pass (token order), and reported as dropped.
  double enforce_capacity_factor = 0.0;
  // When set, every MoE layer routes through it instead of the model's rule (routing what-ifs:
  // `replay --apply`). Not owned; must outlive the engine. CPU engine only for now.
  RoutingOverride* routing_override = nullptr;
  // Expert parallelism (emulated ranks on one device, or NCCL ranks).
  int ep_degree = 1;
  std::vector<int32_t> expert_to_rank;  // (n_routed_experts); empty = contiguous placement
  std::string ep_interconnect = "nvlink4";  // modelled fabric: nvlink4, pcie5 or ib400
  // Device memory the engine may use, 0 = all free memory; makes out-of-memory testable.
  int64_t memory_cap_bytes = 0;
  // CUDA prefill attention through the fused flash-style kernel instead of two cuBLAS products
  // around a softmax kernel. Off by default until it has been checked and timed on a GPU.
  bool fused_attention = false;
  // CUDA decode kernels: RMSNorm with one round of 16-byte loads, absorbed-MLA projections that
  // stream kv_b from many blocks, router logits in one block-per-expert pass, a one-warp route,
  // 16-byte loads in decode attention. The default since an H200 run measured them right and faster
  // (docs/perf.md, issue 16); false selects the plain kernels (--no-fast-kernels).
  bool fast_kernels = true;
  // CUDA decode graph instrumentation on the device: routing written straight into per-layer slots
  // and phase marks as GPU-clock stamps, both copied to the host once per step instead of copies per
  // MoE layer and an event pair per phase. The default since the same run (full instrumentation
  // 11.6 % -> 1.6 % over off on Mixtral-8L); false selects the old capture (--no-device-capture).
  bool device_capture = true;
  // CUDA: keep the linear weights as fp8 e4m3 with 128x128 block scales on the GPU (`--weights fp8`;
  // the model must hold them so: core/model_fp8.h), read by fp8 GEMV kernels (gpu/gemv_fp8.cu).
  bool fp8_weights = false;
  // CUDA: a model that does not fit (memory_cap_bytes or the free memory) keeps its routed experts
  // in pinned host memory and a per-MoE-layer cache of them on the GPU (gpu/expert_offload.h)
  // instead of being refused. Opt-in (--offload-experts), so a cap still refuses what does not fit
  // unless asked; checked on an H200 (docs/offload.md).
  bool offload_experts = false;
  // With offload_experts: at most this many cached experts per MoE layer, and offloading even when
  // the model would fit (0 = as many as fit; only offload when needed).
  int32_t expert_cache_slots = 0;
  std::string offload_policy = "lru";  // the cache's eviction policy: lru or lfu (core/expert_cache.h)
  // With offload_experts, decode steps: after each MoE layer's router, the next MoE layer's router
  // is applied to the same normed hidden state and its top-k experts start copying on the copy
  // stream, overlapping this layer's expert kernels and the next attention (as Pre-gated MoE and
  // MoE-Infinity predict). Off by default (--offload-prefetch) until a GPU has measured it.
  bool offload_prefetch = false;
  // CUDA decode, issue 16's second round, the defaults since an H200 run measured them right and
  // faster (docs/perf.md; each false selects the first round's path, --no-<flag>):
  // fused_experts: a MoE layer's routed and shared experts in one gate/up and one down+combine
  // kernel (4 launches -> 2, gpu/fused_experts.cu; the shared experts' decode time is then part of
  // the experts phase). context_splits: decode attention's splits sized by the keys seen rather
  // than by the longest context. fused_routing: the router logits and the routing (scores, bias,
  // group-limited top-k, renormalise) in one kernel whose last block routes (gpu/router_gemv.cu).
  // programmatic_launch: the decode kernels launched with programmatic dependent launch (Hopper),
  // each scheduled while the one before drains and held on the GPU (griddepcontrol.wait) until it
  // is done, which hides part of the cost of a kernel boundary (~450 a DeepSeek-V2-Lite step).
  bool fused_experts = true;
  bool context_splits = true;
  bool fused_routing = true;
  bool programmatic_launch = true;
  // CUDA decode attention's merge with each split's weight computed once (--fast-merge); off until a
  // GPU run measures it right and faster (an earlier form was faster but read past its shared
  // memory, docs/perf.md).
  bool fast_merge = false;
  // CUDA routing with one warp a token: scores in registers, group-limited and top-k rounds as
  // shuffle argmaxes, no shared memory or block barriers (--warp-topk; the same ids and weights).
  // Off until a GPU run measures it faster (the serial top-k was ~8 us of V2-Lite's 11.8 us router).
  bool warp_topk = false;
  // CUDA prefill, not yet the defaults (written without a GPU; docs/perf.md has the estimates).
  // grouped_prefill: a MoE layer's routed experts as two cuBLAS grouped GEMMs (gate/up, down) over
  // the tokens gathered by expert, instead of one GEMM per expert or every expert padded to the
  // busiest one's rows. flash_prefill: causal prefill attention as FlashAttention-2 tiles on the
  // tensor cores (gpu/flash_prefill_mma.cu): scores and the online softmax stay in registers, so no
  // (heads, T, Lk) score matrix goes through memory. Either falls back to the default path for
  // shapes it does not take.
  bool grouped_prefill = false;
  bool flash_prefill = false;
  // fast_prefill_kernels: the prefill FFN's SwiGLU and weighted combine with 16-byte loads
  // (gpu/prefill_vectorised.cu; the same results bit for bit), not yet the default either.
  bool fast_prefill_kernels = false;
  int device = 0;
};

struct EngineInfo {
  std::string backend;  // "cpu" or "cuda"
  std::string device;   // "CPU (8 threads)", "NVIDIA H100 80GB HBM3", ...
  std::string weights;  // CUDA: how the weights are held when not plainly, e.g. "fp8; experts offloaded: 2 of 8 cached per MoE layer"
  int32_t expert_cache_slots = 0;  // CUDA with routed experts offloaded: cached experts per MoE layer; 0 = not offloaded
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const EngineInfo& info() const = 0;
  virtual const ModelConfig& config() const = 0;
  // Runs `tokens` at the current position, appending them to the KV cache. Fills `logits` with
  // (tokens.size(), vocab) rows when `all_logits`, else with the last token's (vocab) row.
  // Throws InputError when the context would exceed its capacity.
  virtual void forward(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) = 0;
  virtual void reset() = 0;  // empties the KV cache; the next step is step 0 at position 0
  virtual int64_t position() const = 0;
  virtual void set_observer(ForwardObserver* observer) = 0;  // null: no observer
};

std::unique_ptr<Engine> make_cpu_engine(const Model& model, const EngineOptions& options);

}  // namespace moescope

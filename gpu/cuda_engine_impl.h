// The CUDA engine's state, shared by cuda_engine.cpp (setup, step orchestration, observer
// delivery) and step_forward.cpp (the layers of one step).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>
#include <optional>
#include <vector>

#include "core/engine.h"
#include "core/ep_emulation.h"
#include "gpu/device_model.h"
#include "gpu/expert_offload.h"
#include "gpu/gemm.h"
#include "gpu/kernels.h"
#include "gpu/phase_recorder.h"
#include "gpu/workspace.h"

namespace moescope::gpu {

struct KvCache {
  DeviceBuffer arena;
  int64_t context = 0;             // positions it holds
  std::vector<bf16*> k, v;         // GQA, per layer: (context, kvH, head_dim)
  std::vector<bf16*> latent;       // MLA, per layer: (context, kv_lora + rope) normed latent | roped k_pe
};

// Pinned host copies of one step's routing, one region per MoE layer, stride `tokens` rows.
struct RoutingHost {
  int64_t tokens = 0;
  PinnedBuffer logits, scores;  // (moe layers, tokens, E) fp32
  PinnedBuffer ids;             // (moe layers, tokens, k) int32
  PinnedBuffer weights;         // (moe layers, tokens, k) fp32
  PinnedBuffer dropped;         // (moe layers, tokens, k) uint8
  // --device-capture (decode only): the same five arrays on the GPU, written by the routing kernels
  // inside the decode graph and copied to the pinned ones once at the end of the step.
  DeviceBuffer d_logits, d_scores, d_ids, d_weights, d_dropped;
};

// Where one MoE layer's routing is written: the workspace's own buffers, or that layer's rows of
// RoutingHost's device arrays when they are captured on the device.
struct RoutingSlots {
  float* logits = nullptr;     // (T, E)
  float* scores = nullptr;     // (T, E)
  int32_t* ids = nullptr;      // (T, k)
  float* weights = nullptr;    // (T, k)
  uint8_t* dropped = nullptr;  // (T*k)
  bool on_device = false;      // copied with the step's one copy, not per layer
};

// Expert e of a block (gpu/weight_ops.cpp).
DeviceMatrix expert_matrix(const DeviceMatrix& block, int64_t e);

class CudaEngine final : public Engine {
 public:
  // Exactly one of `model` (upload its weights) or a synthetic seed.
  CudaEngine(const ModelConfig& config, const Model* model, uint64_t synthetic_seed, const EngineOptions& options,
             const LoadProgress& progress);
  ~CudaEngine() override;

  const EngineInfo& info() const override { return info_; }
  const ModelConfig& config() const override { return config_; }
  void forward(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) override;
  void reset() override;
  int64_t position() const override { return position_; }
  void set_observer(ForwardObserver* observer) override { observer_ = observer; }

 private:
  struct StepPlan {
    int T = 0;
    int64_t p0 = 0;
    bool gemv = false;     // T <= kMaxDecodeTokens: GEMV kernels, no host synchronisation
    bool all_logits = false;
    bool record = false;   // copy routing to the host
    bool full = false;     // also logits/scores and timings
    int capacity = 0;      // enforced expert capacity, 0 = none
  };

  // step_forward.cpp
  void run_step(const StepPlan& plan, Workspace& ws, RoutingHost& host, PhaseRecorder& rec);
  void attention_gqa(const StepPlan& plan, Workspace& ws, int layer);
  void attention_mla(const StepPlan& plan, Workspace& ws, int layer);
  void prefill_attention(const StepPlan& plan, Workspace& ws, const bf16* q, int64_t q_ld, const bf16* k,
                         int64_t k_ld, int64_t k_head_stride, const bf16* v, int64_t v_ld, int64_t v_head_stride,
                         int dk, int dv, int group);
  void swiglu_ffn(const StepPlan& plan, Workspace& ws, const DeviceMatrix& gate_up, const DeviceMatrix& down);
  void moe(const StepPlan& plan, Workspace& ws, RoutingHost& host, PhaseRecorder& rec, int layer, int moe_index);
  // offload_step.cpp: the routed experts of one MoE layer through the expert cache (offload_), in
  // rounds of cached experts; `off` the per-expert row offsets on the host (prefill only).
  void offloaded_experts(const StepPlan& plan, Workspace& ws, const RoutingSlots& slots, bool capped, int moe_index,
                         const int32_t* off);
  // --offload-prefetch: the experts the next MoE layer's router picks for each of this step's T
  // tokens from the router logits in prefetch_logits_host_ (distinct, in order of first pick).
  std::vector<int32_t> predicted_experts(int next_moe_index, int T);
  bool fused_experts(const StepPlan& plan, Workspace& ws, const DeviceLayer& L, const RoutingSlots& slots,
                     bool capped);
  // grouped_experts.cpp (--grouped-prefill): out rows off[e].. (out_cols wide) = in rows off[e]..
  // (in_cols wide) . W_e^T for every expert e of `block` with tokens, as one grouped GEMM; pointer
  // table `table` (2 * moe_index + projection). False, having done nothing, when the block is fp8 or
  // cuBLAS refuses the call; the caller then takes one GEMM per expert.
  bool grouped_expert_gemm(const DeviceMatrix& block, const bf16* in, int64_t in_cols, bf16* out,
                           int64_t out_cols, const int32_t* off, int table);
  EpExchange ep_exchange(const Workspace& ws, const int32_t* ids, int T) const;
  RoutingSlots routing_slots(const StepPlan& plan, Workspace& ws, RoutingHost& host, int moe_index) const;
  void copy_routing_capture(const StepPlan& plan, RoutingHost& host);
  // launch_rmsnorm, through the vectorised kernel when options_.fast_kernels and it takes the shape.
  void rmsnorm(const float* x, int64_t ldx, const float* w, int n, bf16* out, int64_t ldo, int rows,
               const int* row_offset, bf16* out_lo = nullptr);
  // launch_swiglu / launch_combine, through the vectorised kernels when options_.fast_prefill_kernels
  // and they take the shape.
  void swiglu(const bf16* gu, int64_t N, int I, bf16* act);
  void combine(const bf16* y, const int32_t* slot_of, const float* weights, int T, int k, int hidden,
               float* h);

  // weight_ops.cpp: products with a weight held in bf16 or fp8 (--weights fp8).
  // out (T, W.rows) = x (T, W.cols) . W^T, as launch_gemv.
  void weight_gemv(const DeviceMatrix& W, const bf16* x, int64_t ldx, int T, void* out, int64_t ldo, GemvOut mode);
  // C (M, W.rows) = A (M, W.cols) . W^T + beta C, as gemm_nt.
  void weight_gemm(int64_t M, const DeviceMatrix& W, const bf16* A, int64_t lda, void* C, OutType c_type, int64_t ldc,
                   float beta = 0.0f);
  // launch_swiglu_gemv / launch_down_combine_gemv over a matrix or an expert block (W one matrix's shape).
  void weight_swiglu_gemv(const DeviceMatrix& W, const int32_t* ids, int T, int k, const bf16* x, int64_t ldx, int I,
                          int hidden, bf16* act);
  void weight_down_combine_gemv(const DeviceMatrix& W, const int32_t* ids, const float* weights,
                                const uint8_t* dropped, int T, int k, const bf16* act, int I, int hidden, float* h);
  ExpertBlocks resident_experts(int layer) const;

  // cuda_engine.cpp
  void upload_ep_placement();
  Workspace& prefill_workspace(int64_t T, int64_t Lk);
  // `on_device`: also the device arrays of --device-capture.
  void ensure_routing_host(RoutingHost& host, int64_t tokens, bool on_device = false);
  void deliver(const StepPlan& plan, const StepInfo& step, const RoutingHost& host, const PhaseRecorder& rec,
               std::span<const float> logits);

  ModelConfig config_;
  EngineOptions options_;
  EngineInfo info_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  DeviceModel model_;
  DeviceBuffer fp8_tile_;  // (kFp8TileElements) bf16: fp8 weight rows dequantised for a prefill GEMM
  std::unique_ptr<ExpertOffload> offload_;  // routed experts in host memory, cached per layer on the GPU
  PinnedBuffer offload_ids_host_;           // (T*k) int32 a layer's chosen experts, then (T*k) dropped flags
  PinnedBuffer offload_rounds_host_;        // (rounds, T*k) int32 slot ids then (rounds, T*k) uint8 masks
  DeviceBuffer offload_rounds_;             // the same on the device
  // --offload-prefetch: the next MoE layer's router logits on this layer's normed hidden state.
  DeviceBuffer prefetch_logits_;                  // (kMaxDecodeTokens, E) f32
  PinnedBuffer prefetch_logits_host_;             // the same on the host
  std::vector<std::vector<float>> prefetch_bias_; // (MoE layers, E) router biases on the host; empty: none
  KvCache kv_;
  DeviceBuffer rope_freq_;   // (rot_dim/2) fp32
  RopeParams rope_;
  DeviceBuffer pos_;         // (1) int32: position of the step's first token
  DeviceBuffer route_blocks_done_;  // (1) uint32, zero between launches: --fused-routing's block counter
  PinnedBuffer pos_host_;    // (1)
  PinnedBuffer tokens_host_; // (T) int32
  PinnedBuffer offsets_host_;  // (E+1) int32
  // --grouped-prefill: (moe layers * 2, kGroupedTablePointers, E) pointers, A then B then C of each
  // expert's product, filled on the host and copied per table. Every table has its own rows, so a copy
  // still in flight is never overwritten within a step (and each MoE layer waits for the last one's).
  static constexpr size_t kGroupedTablePointers = 3;
  PinnedBuffer grouped_ptrs_host_;
  DeviceBuffer grouped_ptrs_;
  PinnedBuffer logits_host_;   // (T, vocab) fp32
  Workspace decode_ws_;
  std::unique_ptr<Workspace> prefill_ws_;
  RoutingHost decode_host_, prefill_host_;
  PhaseRecorder rec_, graph_rec_;
  std::vector<int32_t> moe_layers_;
  std::optional<EpEmulation> ep_;  // emulated expert parallelism, when ep_degree > 1
  DeviceBuffer ep_copy_offsets_;   // (E+1) int32: each expert's range in ep_copy_ranks_
  DeviceBuffer ep_copy_ranks_;     // ranks holding a copy of each expert
  int decode_chunk_ = 64;
  int64_t splits_ = 1;

  cudaGraphExec_t graph_ = nullptr;
  bool graph_record_ = false, graph_full_ = false;

  int64_t position_ = 0;
  int64_t step_ = 0;
  ForwardObserver* observer_ = nullptr;
};

}  // namespace moescope::gpu

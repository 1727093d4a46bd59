// The model's weights as they live on the GPU: bf16 matrices (norm vectors in fp32), some fused so
// one GEMM/GEMV reads them in one pass:
//   GQA in_proj  = [q; k; v]                         (H*d + 2*kvH*d, hidden)
//   MLA in_proj  = [q_a or q_proj; kv_a_proj_with_mqa] (q_part + kv_lora + rope, hidden)
//   gate_up      = [gate; up]                        (2*width, hidden)
// Routed experts of a layer are one contiguous block each, (E, 2*I, hidden) and (E, hidden, I), so
// kernels index an expert by id without a pointer table.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/model_config.h"
#include "gpu/device_buffer.h"
#include "gpu/fp8_kernels.h"

namespace moescope {
struct Model;
}

namespace moescope::gpu {

using bf16 = __nv_bfloat16;

struct DeviceMatrix {
  const bf16* data = nullptr;  // (rows, cols) row-major; null when the matrix is kept in fp8
  int64_t rows = 0;
  int64_t cols = 0;
  Fp8View fp8;  // --weights fp8: the values and block scales instead of `data`
};

struct DeviceLayer {
  const float* input_norm = nullptr;      // (hidden)
  const float* post_attn_norm = nullptr;  // (hidden)
  DeviceMatrix in_proj;                   // fused, see above
  const float* q_norm = nullptr;          // (head_dim) Qwen3
  const float* k_norm = nullptr;          // (head_dim) Qwen3
  const float* q_a_norm = nullptr;        // (q_lora_rank)
  const float* kv_a_norm = nullptr;       // (kv_lora_rank)
  DeviceMatrix q_b;                       // (H*qk_head_dim, q_lora_rank)
  DeviceMatrix kv_b;                      // (H*(nope+v), kv_lora_rank)
  DeviceMatrix o_proj;                    // (hidden, H*v)
  bool is_moe = false;
  DeviceMatrix dense_gate_up;             // (2*intermediate, hidden)
  DeviceMatrix dense_down;                // (hidden, intermediate)
  DeviceMatrix router;                    // (E, hidden)
  const float* router_bias = nullptr;     // (E) noaux_tc only
  const bf16* experts_gate_up = nullptr;  // (E, 2*moe_intermediate, hidden)
  const bf16* experts_down = nullptr;     // (E, hidden, moe_intermediate)
  Fp8View experts_gate_up_fp8;            // --weights fp8: the two blocks above as fp8 (bf16 ones null)
  Fp8View experts_down_fp8;
  DeviceMatrix shared_gate_up;            // (2*shared_width, hidden), rows 0 when absent
  DeviceMatrix shared_down;               // (hidden, shared_width)
};

// One MoE layer's routed experts as the expert kernels read them: a block of E (or, offloaded, of
// cache-slot) matrices one stride apart, bf16 (`data`, rows x cols apart) or fp8 (`fp8`, with its
// strides).
struct ExpertBlocks {
  DeviceMatrix gate_up;  // per expert (2I, hidden); data is expert 0's
  DeviceMatrix down;     // per expert (hidden, I)
};

struct DeviceModel {
  DeviceBuffer arena;  // every weight below points into it, but offloaded experts:
  // with expert offloading, each layer's experts_* blocks in the same layout in pinned host memory
  // (the copy source of the GPU's expert cache, gpu/expert_offload.h)
  PinnedBuffer host_experts;
  DeviceMatrix embed;  // (vocab, hidden)
  const float* final_norm = nullptr;
  DeviceMatrix lm_head;  // (vocab, hidden)
  std::vector<DeviceLayer> layers;
  size_t bytes = 0;  // weight bytes on the device
};

// Called during upload with (bytes done, bytes total).
using LoadProgress = std::function<void(int64_t, int64_t)>;

// Bytes the weights of `config` take on the device (same layout as the loaders below); `fp8`: the
// linear weights a DeepSeek-V3 release stores in fp8 kept as e4m3 with block scales (--weights fp8).
size_t device_weight_bytes(const ModelConfig& config, bool fp8 = false);
// Bytes of one routed expert (gate, up, down) on the device, scales included.
size_t device_expert_bytes(const ModelConfig& config, bool fp8 = false);

// Streams every weight of `model` from the mapped checkpoint through pinned staging buffers into one
// device allocation, converting F32/F16/F8 (with block scales) to bf16, or with `fp8` keeping the
// F8_E4M3 weights (and their scales) as they are: every such weight must then be F8_E4M3 with
// scales (core/model_fp8.h makes any checkpoint so).
DeviceModel upload_model(const Model& model, cudaStream_t stream, const LoadProgress& progress, bool fp8 = false,
                         bool experts_on_host = false);

// Random weights of the right shapes, generated on the GPU (benchmarks): matrices uniform in
// +-1/sqrt(cols), norms 1, router bias small.
DeviceModel make_synthetic_model(const ModelConfig& config, uint64_t seed, cudaStream_t stream, bool fp8 = false,
                                 bool experts_on_host = false);

// Pinned host memory for the offloaded experts, or ResourceError naming the bytes and CUDA's reason.
PinnedBuffer pin_expert_memory(size_t bytes);

}  // namespace moescope::gpu

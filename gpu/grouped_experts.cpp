// --grouped-prefill: a MoE layer's routed experts at prefill as one cuBLAS grouped GEMM per
// projection instead of one GEMM per expert. With fine-grained experts (DeepSeek-V2-Lite: 64 routed,
// top-6) a 2048-token prefill gives each expert a few to a few hundred rows; one GEMM each is ~128
// launches a layer of 6-10 us kernels that fill a fraction of the GPU, where one grouped launch
// schedules every expert's tiles together. The tokens are already gathered by expert (launch_gather,
// pad 0), so expert e's rows are the contiguous block off[e]..off[e+1].
#include <vector>

#include "gpu/cuda_check.h"
#include "gpu/cuda_engine_impl.h"
#include "gpu/gemm.h"

namespace moescope::gpu {

bool CudaEngine::grouped_expert_gemm(const DeviceMatrix& block, const bf16* in, int64_t in_cols, bf16* out,
                                     int64_t out_cols, const int32_t* off, int table) {
  if (block.fp8 || !block.data || grouped_ptrs_.bytes() == 0) return false;
  const int E = static_cast<int>(config_.n_routed_experts);
  const size_t stride = kGroupedTablePointers * static_cast<size_t>(E);
  if ((static_cast<size_t>(table) + 1) * stride * sizeof(void*) > grouped_ptrs_.bytes()) return false;
  // This table's rows: (3, E) pointers, tokens (A), weights (B), outputs (C) of each expert with rows.
  const void** host = grouped_ptrs_host_.as<const void*>() + static_cast<size_t>(table) * stride;
  void** dev = grouped_ptrs_.as<void*>() + static_cast<size_t>(table) * stride;
  std::vector<int> rows;
  rows.reserve(static_cast<size_t>(E));
  const int64_t weight_elems = block.rows * block.cols;
  for (int e = 0; e < E; ++e) {
    const int n = off[e + 1] - off[e];
    if (n == 0) continue;
    const size_t g = rows.size();
    host[g] = in + static_cast<int64_t>(off[e]) * in_cols;
    host[E + g] = block.data + e * weight_elems;
    host[2 * E + g] = out + static_cast<int64_t>(off[e]) * out_cols;
    rows.push_back(n);
  }
  if (rows.empty()) return true;
  CUDA_CHECK(cudaMemcpyAsync(dev, host, stride * sizeof(void*), cudaMemcpyHostToDevice, stream_));
  return gemm_nt_grouped(blas_, static_cast<int>(rows.size()), rows.data(), block.rows, block.cols,
                         reinterpret_cast<const bf16* const*>(dev), in_cols,
                         reinterpret_cast<const bf16* const*>(dev + E), block.cols, dev + 2 * E,
                         OutType::bf16, out_cols);
}

}  // namespace moescope::gpu

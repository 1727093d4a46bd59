// The float32 building blocks of the CPU reference engine. Activations are row-major float arrays;
// weights stay in their stored dtype and are upcast one row at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu/thread_pool.h"
#include "core/model_weights.h"

namespace moescope::cpu {

// out (n, rows) = x (n, cols) @ W^T, W (rows, cols).
void matmul(ThreadPool& pool, const float* x, int64_t n, const WeightMatrix& w, float* out);

// Upcasts row `row` of W (dequantising F8 with its block scales) into `out` (cols).
void weight_row_f32(const WeightMatrix& w, int64_t row, float* out);

std::vector<float> vector_f32(const Vector1D& v);

// RMSNorm over the last dimension `dim` of x (n, dim), in place or into out.
void rms_norm(const float* x, int64_t n, int64_t dim, const float* weight, double eps, float* out);

float silu(float x);

// Microseconds on the steady clock, for phase timings.
double now_us();

// Rotary embedding inverse frequencies for a rotary width `dim` (YaRN-adjusted when configured),
// and the factor YaRN applies to cos/sin.
struct RopeTable {
  std::vector<float> inv_freq;  // (dim/2)
  float attention_factor = 1.0f;
};
RopeTable make_rope_table(const ModelConfig& config, int64_t dim);

// Rotates one head vector x (dim) at `position`. `interleaved`: pairs (2i, 2i+1) as DeepSeek's MLA;
// otherwise pairs (i, i + dim/2) as Llama's rotate_half.
void apply_rope(const RopeTable& table, int64_t position, bool interleaved, float* x, int64_t dim);

}  // namespace moescope::cpu

// Random fill kernels for synthetic weights (hash-based, reproducible from a seed).
#include "gpu/cuda_check.h"
#include "gpu/kernels.h"

namespace moescope::gpu {
namespace {
__device__ inline uint64_t mix64(uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

__device__ inline float uniform_pm1(uint64_t seed, uint64_t i) {
  return static_cast<float>(mix64(seed ^ (i * 0xD1B54A32D192ED03ull)) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

__global__ void fill_bf16(bf16* out, int64_t n, float scale, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16(scale * uniform_pm1(seed, static_cast<uint64_t>(i)));
}

__global__ void fill_f32(float* out, int64_t n, float scale, float offset, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = offset + scale * uniform_pm1(seed, static_cast<uint64_t>(i));
}

}  // namespace

void launch_fill_uniform_bf16(bf16* out, int64_t n, float scale, uint64_t seed, cudaStream_t stream) {
  const int blocks = static_cast<int>(std::min<int64_t>((n + 255) / 256, 4096));
  fill_bf16<<<blocks, 256, 0, stream>>>(out, n, scale, seed);
  CUDA_CHECK_LAUNCH();
}

void launch_fill_uniform_f32(float* out, int64_t n, float offset, float scale, uint64_t seed, cudaStream_t stream) {
  const int blocks = static_cast<int>(std::min<int64_t>((n + 255) / 256, 4096));
  fill_f32<<<blocks, 256, 0, stream>>>(out, n, scale, offset, seed);
  CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::gpu

// Focus: gemm_nt_grouped (--grouped-prefill's product, gpu/gemm.cpp) against a double-precision
// reference on the same bf16 operands: groups of different row counts (1 to a few hundred, as a
// MoE layer's experts get at prefill) sharing N and K, rows read from and written into one packed
// block as the engine lays experts out, the ldc of a wider output, and that cuBLAS takes the call
// here at all (a refusal would leave --grouped-prefill on the per-expert GEMMs silently).
#include <cublas_v2.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "gpu/device_buffer.h"
#include "gpu/gemm.h"
#include "tests/gpu/gpu_test_support.h"

namespace moescope {
namespace {

using gpu::bf16;

struct GroupedCase {
  std::vector<int> rows;  // each group's M
  int N = 0, K = 0, ldc = 0;
};

// C_g (rows[g], N) = A_g . B_g^T for A packed as (sum rows, K) and B as (groups, N, K); C packed as
// (sum rows, ldc). Returns the relative L2 error against doubles, or a negative value when cuBLAS
// refused the call.
double grouped_error(const GroupedCase& c, uint32_t seed) {
  const int groups = static_cast<int>(c.rows.size());
  const int total = std::accumulate(c.rows.begin(), c.rows.end(), 0);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<bf16> a(static_cast<size_t>(total) * c.K), b(static_cast<size_t>(groups) * c.N * c.K);
  for (bf16& x : a) x = __float2bfloat16(normal(rng));
  for (bf16& x : b) x = __float2bfloat16(normal(rng));
  const std::vector<bf16> sentinel(static_cast<size_t>(total) * c.ldc, __float2bfloat16(NAN));

  gpu::DeviceBuffer da(a.size() * sizeof(bf16)), db(b.size() * sizeof(bf16)),
      dc(sentinel.size() * sizeof(bf16));
  EXPECT_EQ(cudaMemcpy(da.data(), a.data(), da.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(db.data(), b.data(), db.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(dc.data(), sentinel.data(), dc.bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  std::vector<const void*> ptrs(3 * static_cast<size_t>(groups));
  for (int g = 0, row = 0; g < groups; row += c.rows[static_cast<size_t>(g)], ++g) {
    ptrs[static_cast<size_t>(g)] = da.as<bf16>() + static_cast<int64_t>(row) * c.K;
    ptrs[static_cast<size_t>(groups + g)] = db.as<bf16>() + static_cast<int64_t>(g) * c.N * c.K;
    ptrs[static_cast<size_t>(2 * groups + g)] = dc.as<bf16>() + static_cast<int64_t>(row) * c.ldc;
  }
  gpu::DeviceBuffer dptrs(ptrs.size() * sizeof(void*));
  EXPECT_EQ(cudaMemcpy(dptrs.data(), ptrs.data(), dptrs.bytes(), cudaMemcpyHostToDevice), cudaSuccess);

  cublasHandle_t handle = nullptr;
  EXPECT_EQ(cublasCreate(&handle), CUBLAS_STATUS_SUCCESS);
  void** dev = dptrs.as<void*>();
  const bool taken = gpu::gemm_nt_grouped(
      handle, groups, c.rows.data(), c.N, c.K, reinterpret_cast<const bf16* const*>(dev), c.K,
      reinterpret_cast<const bf16* const*>(dev + groups), c.K, dev + 2 * groups, gpu::OutType::bf16, c.ldc);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  cublasDestroy(handle);
  if (!taken) return -1.0;
  std::vector<bf16> out(sentinel.size());
  EXPECT_EQ(cudaMemcpy(out.data(), dc.data(), dc.bytes(), cudaMemcpyDeviceToHost), cudaSuccess);

  double err2 = 0, ref2 = 0;
  for (int g = 0, row = 0; g < groups; row += c.rows[static_cast<size_t>(g)], ++g) {
    for (int i = 0; i < c.rows[static_cast<size_t>(g)]; ++i) {
      for (int n = 0; n < c.N; ++n) {
        double want = 0;
        for (int k = 0; k < c.K; ++k) {
          want += double(__bfloat162float(a[static_cast<size_t>(row + i) * c.K + k])) *
                  double(__bfloat162float(b[(static_cast<size_t>(g) * c.N + n) * c.K + k]));
        }
        const double got = __bfloat162float(out[static_cast<size_t>(row + i) * c.ldc + n]);
        if (!std::isfinite(got)) return INFINITY;  // an element the call did not write
        err2 += (got - want) * (got - want);
        ref2 += want * want;
      }
    }
  }
  return std::sqrt(err2 / ref2);
}

// 1. Experts of very different token counts, including one row, in one call.
TEST(GroupedGemm, GroupsOfDifferentRowCountsMatchReference) {
  MOESCOPE_REQUIRE_GPU();
  const double err = grouped_error({.rows = {1, 7, 130, 33, 2, 64}, .N = 96, .K = 64, .ldc = 96}, 1);
  ASSERT_GE(err, 0.0) << "cuBLAS refused cublasGemmGroupedBatchedEx for bf16 in, bf16 out, fp32 compute";
  EXPECT_LE(err, 1e-2);  // one bf16 rounding of each output
}

// 2. An output wider than N (ldc > N), as the gate/up block's rows are, and a single group.
TEST(GroupedGemm, WideOutputRowsAndOneGroupMatchReference) {
  MOESCOPE_REQUIRE_GPU();
  const double wide = grouped_error({.rows = {5, 300}, .N = 32, .K = 128, .ldc = 48}, 2);
  ASSERT_GE(wide, 0.0) << "cuBLAS refused the grouped call";
  EXPECT_LE(wide, 1e-2);
  const double one = grouped_error({.rows = {17}, .N = 64, .K = 32, .ldc = 64}, 3);
  ASSERT_GE(one, 0.0);
  EXPECT_LE(one, 1e-2);
}

}  // namespace
}  // namespace moescope

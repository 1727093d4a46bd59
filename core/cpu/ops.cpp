#include "core/cpu/ops.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/unsanitized.h"

namespace moescope::cpu {

void weight_row_f32(const WeightMatrix& w, int64_t row, float* out) {
  convert_to_f32(*w.weight, row * w.cols, w.cols, out);
  if (w.scale_inv) {
    const int64_t block_cols = (w.cols + 127) / 128;
    thread_local std::vector<float> scales;
    scales.resize(static_cast<size_t>(block_cols));
    convert_to_f32(*w.scale_inv, (row / 128) * block_cols, block_cols, scales.data());
    for (int64_t c = 0; c < w.cols; ++c) out[c] *= scales[c / 128];
  }
}

std::vector<float> vector_f32(const Vector1D& v) {
  std::vector<float> out(static_cast<size_t>(v.size));
  convert_to_f32(*v.weight, 0, v.size, out.data());
  return out;
}

namespace {
// The engine's inner product, where nearly all of its time goes.
MOESCOPE_UNSANITIZED_HOT_LOOP float dot_product(const float* a, const float* b, int64_t n) {
  // Eight partial sums: vectorisable, and closer to the reference's blocked sums.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t c = 0;
  for (; c + 8 <= n; c += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[c + j] * b[c + j];
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; c < n; ++c) sum += a[c] * b[c];
  return sum;
}
}  // namespace

void matmul(ThreadPool& pool, const float* x, int64_t n, const WeightMatrix& w, float* out) {
  const int64_t rows = w.rows, cols = w.cols;
  pool.parallel_for(rows, 8, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      weight_row_f32(w, r, row.data());
      for (int64_t t = 0; t < n; ++t) {
        const float sum = dot_product(x + t * cols, row.data(), cols);
        out[t * rows + r] = sum;
      }
    }
  });
}

void rms_norm(const float* x, int64_t n, int64_t dim, const float* weight, double eps, float* out) {
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * dim;
    double sum_sq = 0;
    for (int64_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xt[i]) * xt[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(dim) + eps));
    for (int64_t i = 0; i < dim; ++i) out[t * dim + i] = weight[i] * (xt[i] * inv);
  }
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

double now_us() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count()) / 1e3;
}

namespace {

double yarn_get_mscale(double scale, double mscale) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

}  // namespace

RopeTable make_rope_table(const ModelConfig& c, int64_t dim) {
  RopeTable table;
  const int64_t half = dim / 2;
  table.inv_freq.resize(static_cast<size_t>(half));
  const double base = c.rope_theta;
  for (int64_t i = 0; i < half; ++i) {
    const double pos_freq = std::pow(base, static_cast<double>(2 * i) / static_cast<double>(dim));
    table.inv_freq[i] = static_cast<float>(1.0 / pos_freq);
  }
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == RopeType::linear) {
    for (auto& f : table.inv_freq) f = static_cast<float>(f / rs.factor);
  } else if (rs.type == RopeType::yarn) {
    // YaRN (Peng et al. 2023) as transformers computes it: blend interpolated and extrapolated
    // frequencies with a linear ramp between the correction dims of beta_fast and beta_slow.
    const double orig = static_cast<double>(rs.original_max_position_embeddings);
    auto correction_dim = [&](double rotations) {
      return (static_cast<double>(dim) * std::log(orig / (rotations * 2.0 * M_PI))) / (2.0 * std::log(base));
    };
    double low = std::max(std::floor(correction_dim(rs.beta_fast)), 0.0);
    double high = std::min(std::ceil(correction_dim(rs.beta_slow)), static_cast<double>(dim - 1));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
      const double pos_freq = std::pow(base, static_cast<double>(2 * i) / static_cast<double>(dim));
      const double extrapolation = 1.0 / pos_freq;
      const double interpolation = 1.0 / (rs.factor * pos_freq);
      const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      const double extrapolation_weight = 1.0 - ramp;
      table.inv_freq[i] = static_cast<float>(interpolation * (1.0 - extrapolation_weight) + extrapolation * extrapolation_weight);
    }
    const double factor = (rs.mscale != 0.0 && rs.mscale_all_dim != 0.0)
                              ? yarn_get_mscale(rs.factor, rs.mscale) / yarn_get_mscale(rs.factor, rs.mscale_all_dim)
                              : yarn_get_mscale(rs.factor, 1.0);
    table.attention_factor = static_cast<float>(factor);
  }
  return table;
}

void apply_rope(const RopeTable& table, int64_t position, bool interleaved, float* x, int64_t dim) {
  const int64_t half = dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    // float32 angle, as the reference computes inv_freq * position in float32.
    const float angle = table.inv_freq[i] * static_cast<float>(position);
    const float cos_a = std::cos(angle) * table.attention_factor;
    const float sin_a = std::sin(angle) * table.attention_factor;
    const int64_t a = interleaved ? 2 * i : i;
    const int64_t b = interleaved ? 2 * i + 1 : i + half;
    const float xa = x[a], xb = x[b];
    x[a] = xa * cos_a - xb * sin_a;
    x[b] = xb * cos_a + xa * sin_a;
  }
}

}  // namespace moescope::cpu

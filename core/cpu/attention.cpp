#include "core/cpu/attention.h"

#include <cmath>

namespace moescope::cpu {

void KvCache::reserve_positions(int64_t positions) {
  k.resize(static_cast<size_t>(positions * n_kv_heads * k_dim));
  v.resize(static_cast<size_t>(positions * n_kv_heads * v_dim));
}

namespace {

// q, k and v for new tokens, written into q (n, heads, k_dim) and the cache rows of the new
// positions. GQA: q/k/v projections (+ Qwen3's per-head norms), rotate_half RoPE.
void project_gqa(ThreadPool& pool, const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                 const float* x, int64_t n, int64_t first_position, KvCache& cache, std::vector<float>& q) {
  const int64_t H = c.num_heads, KV = c.num_kv_heads, D = c.head_dim;
  std::vector<float> k(static_cast<size_t>(n * KV * D)), v(static_cast<size_t>(n * KV * D));
  q.resize(static_cast<size_t>(n * H * D));
  matmul(pool, x, n, w.q_proj, q.data());
  matmul(pool, x, n, w.k_proj, k.data());
  matmul(pool, x, n, w.v_proj, v.data());
  if (c.qk_norm) {
    const auto qn = vector_f32(w.q_norm), kn = vector_f32(w.k_norm);
    rms_norm(q.data(), n * H, D, qn.data(), c.rms_norm_eps, q.data());
    rms_norm(k.data(), n * KV, D, kn.data(), c.rms_norm_eps, k.data());
  }
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < H; ++h) apply_rope(rope, first_position + t, false, &q[(t * H + h) * D], D);
    for (int64_t h = 0; h < KV; ++h) apply_rope(rope, first_position + t, false, &k[(t * KV + h) * D], D);
  }
  std::copy(k.begin(), k.end(), cache.k.begin() + first_position * KV * D);
  std::copy(v.begin(), v.end(), cache.v.begin() + first_position * KV * D);
}

// MLA: q from q_proj or the q-LoRA pair; k/v from the compressed latent through kv_b_proj; the
// rotary key part is shared by all heads. Interleaved-pair RoPE, as DeepSeek's release.
void project_mla(ThreadPool& pool, const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                 const float* x, int64_t n, int64_t first_position, KvCache& cache, std::vector<float>& q) {
  const int64_t H = c.num_heads, nope = c.qk_nope_head_dim, rope_dim = c.qk_rope_head_dim, vd = c.v_head_dim;
  const int64_t qk = nope + rope_dim, rank = c.kv_lora_rank;
  q.resize(static_cast<size_t>(n * H * qk));
  if (c.q_lora_rank > 0) {
    std::vector<float> q_latent(static_cast<size_t>(n * c.q_lora_rank));
    matmul(pool, x, n, w.q_a_proj, q_latent.data());
    const auto qa_norm = vector_f32(w.q_a_norm);
    rms_norm(q_latent.data(), n, c.q_lora_rank, qa_norm.data(), c.rms_norm_eps, q_latent.data());
    matmul(pool, q_latent.data(), n, w.q_b_proj, q.data());
  } else {
    matmul(pool, x, n, w.q_proj, q.data());
  }
  std::vector<float> compressed(static_cast<size_t>(n * (rank + rope_dim)));  // (n, rank + rope)
  matmul(pool, x, n, w.kv_a_proj_with_mqa, compressed.data());
  std::vector<float> latent(static_cast<size_t>(n * rank));  // (n, rank)
  const auto kv_norm = vector_f32(w.kv_a_norm);
  for (int64_t t = 0; t < n; ++t)
    rms_norm(&compressed[t * (rank + rope_dim)], 1, rank, kv_norm.data(), c.rms_norm_eps, &latent[t * rank]);
  std::vector<float> kv(static_cast<size_t>(n * H * (nope + vd)));  // (n, heads, nope + v)
  matmul(pool, latent.data(), n, w.kv_b_proj, kv.data());
  for (int64_t t = 0; t < n; ++t) {
    const int64_t pos = first_position + t;
    float* k_pe = &compressed[t * (rank + rope_dim) + rank];
    apply_rope(rope, pos, true, k_pe, rope_dim);
    for (int64_t h = 0; h < H; ++h) {
      apply_rope(rope, pos, true, &q[(t * H + h) * qk + nope], rope_dim);
      float* k_row = &cache.k[((pos * H) + h) * qk];
      float* v_row = &cache.v[((pos * H) + h) * vd];
      const float* kv_row = &kv[(t * H + h) * (nope + vd)];
      std::copy(kv_row, kv_row + nope, k_row);
      std::copy(k_pe, k_pe + rope_dim, k_row + nope);
      std::copy(kv_row + nope, kv_row + nope + vd, v_row);
    }
  }
}

}  // namespace

void attention_forward(ThreadPool& pool, const ModelConfig& c, const AttentionWeights& w, const RopeTable& rope,
                       const float* x_norm, int64_t n, int64_t first_position, KvCache& cache, float* out) {
  std::vector<float> q;
  if (c.use_mla) {
    project_mla(pool, c, w, rope, x_norm, n, first_position, cache, q);
  } else {
    project_gqa(pool, c, w, rope, x_norm, n, first_position, cache, q);
  }
  const int64_t H = c.num_heads, KV = cache.n_kv_heads, kd = cache.k_dim, vd = cache.v_dim;
  const int64_t group = H / KV;
  const float scale = static_cast<float>(c.attention_scale());
  std::vector<float> context(static_cast<size_t>(n * H * vd));  // (n, heads, v_dim)
  pool.parallel_for(n * H, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> weights;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t = i / H, h = i % H, kvh = h / group;
      const int64_t pos = first_position + t;
      const float* qv = &q[(t * H + h) * kd];
      weights.assign(static_cast<size_t>(pos + 1), 0.0f);
      float max_score = -INFINITY;
      for (int64_t p = 0; p <= pos; ++p) {  // causal: keys up to and including this position
        const float* kv = &cache.k[(p * KV + kvh) * kd];
        float dot = 0;
        for (int64_t d = 0; d < kd; ++d) dot += qv[d] * kv[d];
        weights[p] = dot * scale;
        max_score = std::max(max_score, weights[p]);
      }
      double sum = 0;
      for (auto& s : weights) {
        s = std::exp(s - max_score);
        sum += s;
      }
      float* ctx = &context[(t * H + h) * vd];
      for (int64_t p = 0; p <= pos; ++p) {
        const float a = static_cast<float>(weights[p] / sum);
        const float* vv = &cache.v[(p * KV + kvh) * vd];
        for (int64_t d = 0; d < vd; ++d) ctx[d] += a * vv[d];
      }
    }
  });
  matmul(pool, context.data(), n, w.o_proj, out);
}

}  // namespace moescope::cpu

// Focus: the GPU router and dispatch kernels against core's reference: scores, top-k ids and final
// weights for every family's rule (softmax/sigmoid, greedy, group_limited_greedy, noaux_tc with bias,
// renormalisation, scaling), capacity drops against analysis::capacity_drop_mask, the fused
// router of --fused-routing (logits and routing in one kernel), and --warp-topk's one-warp routing in
// both.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/analysis/capacity.h"
#include "core/model_config.h"
#include "core/routing.h"
#include "gpu/device_buffer.h"
#include "gpu/kernels.h"
#include "tests/gpu/gpu_test_support.h"

namespace moescope {
namespace {

ModelConfig router_config(ScoringFunc scoring, TopkMethod method, int E, int k, int n_group, int topk_group,
                          bool norm, double scaling, Family family) {
  ModelConfig c;
  c.family = family;
  c.n_routed_experts = E;
  c.top_k = k;
  c.n_group = n_group;
  c.topk_group = topk_group;
  c.scoring = scoring;
  c.topk_method = method;
  c.norm_topk_prob = norm;
  c.routed_scaling_factor = scaling;
  return c;
}

template <class T>
std::vector<T> download(const gpu::DeviceBuffer& b, size_t n) {
  std::vector<T> out(n);
  EXPECT_EQ(cudaMemcpy(out.data(), b.data(), n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

void check_router_block(const ModelConfig& c, uint32_t seed, int threads, bool warp_topk = false) {
  SCOPED_TRACE("route block of " + std::to_string(threads) + " threads" + (warp_topk ? ", warp top-k" : ""));
  const int T = 97, E = static_cast<int>(c.n_routed_experts), k = static_cast<int>(c.top_k);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(static_cast<size_t>(T * E)), bias;
  for (float& v : logits) v = normal(rng);
  if (c.topk_method == TopkMethod::noaux_tc) {
    bias.resize(static_cast<size_t>(E));
    for (float& v : bias) v = 0.1f * normal(rng);
  }
  std::vector<float> ref_scores(logits.size()), ref_weights(static_cast<size_t>(T * k));
  std::vector<int32_t> ref_ids(static_cast<size_t>(T * k));
  route_tokens(c, logits, T, bias, {ref_scores, ref_ids, ref_weights});

  gpu::DeviceBuffer d_logits(logits.size() * 4), d_bias(std::max<size_t>(bias.size(), 1) * 4);
  gpu::DeviceBuffer d_scores(logits.size() * 4), d_ids(ref_ids.size() * 4), d_weights(ref_weights.size() * 4);
  cudaMemcpy(d_logits.data(), logits.data(), logits.size() * 4, cudaMemcpyHostToDevice);
  if (!bias.empty()) cudaMemcpy(d_bias.data(), bias.data(), bias.size() * 4, cudaMemcpyHostToDevice);
  gpu::RouteParams p;
  p.logits = d_logits.as<float>();
  p.T = T;
  p.E = E;
  p.k = k;
  p.sigmoid = c.scoring == ScoringFunc::sigmoid;
  p.method = static_cast<int>(c.topk_method);
  p.n_group = static_cast<int>(c.n_group);
  p.topk_group = static_cast<int>(c.topk_group);
  p.bias = bias.empty() ? nullptr : d_bias.as<float>();
  p.norm_topk = c.norm_topk_prob && k > 1;
  p.scaling = (c.family == Family::deepseek_v2 ? !p.norm_topk : true)
                  ? static_cast<float>(c.routed_scaling_factor)
                  : 1.0f;
  p.scores = d_scores.as<float>();
  p.ids = d_ids.as<int32_t>();
  p.weights = d_weights.as<float>();
  p.threads = threads;
  p.warp_topk = warp_topk;
  gpu::launch_route(p, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  const auto scores = download<float>(d_scores, logits.size());
  const auto ids = download<int32_t>(d_ids, ref_ids.size());
  const auto weights = download<float>(d_weights, ref_weights.size());
  for (size_t i = 0; i < scores.size(); ++i)
    ASSERT_NEAR(scores[i], ref_scores[i], 1e-5f * (1 + ref_scores[i]));
  EXPECT_EQ(ids, ref_ids);  // continuous random logits: no ties, so the order is exact too
  for (size_t i = 0; i < weights.size(); ++i)
    ASSERT_NEAR(weights[i], ref_weights[i], 1e-5f * (1 + ref_weights[i]));
}

// The default block, --fast-kernels' one warp a token, and --warp-topk's shuffle-only routing.
void check_router(const ModelConfig& c, uint32_t seed) {
  check_router_block(c, seed, 256);
  check_router_block(c, seed, 32);
  check_router_block(c, seed, 256, true);
}

// 1. Each family's routing rule, bit-for-bit ids and weights within fp32 rounding, with 256 and 32
//    threads a token and with --warp-topk.
TEST(CudaRouter, MatchesReferenceForEveryRule) {
  MOESCOPE_REQUIRE_GPU();
  check_router(
      router_config(ScoringFunc::softmax, TopkMethod::greedy, 8, 2, 1, 1, true, 1.0, Family::mixtral), 1);
  check_router(
      router_config(ScoringFunc::softmax, TopkMethod::greedy, 128, 8, 1, 1, true, 1.0, Family::qwen3_moe), 2);
  check_router(
      router_config(ScoringFunc::softmax, TopkMethod::greedy, 64, 6, 1, 1, false, 1.0, Family::deepseek_v2),
      3);
  check_router(router_config(ScoringFunc::softmax, TopkMethod::group_limited_greedy, 160, 6, 8, 3, false,
                             16.0, Family::deepseek_v2),
               4);
  check_router(
      router_config(ScoringFunc::sigmoid, TopkMethod::noaux_tc, 256, 8, 8, 4, true, 2.5, Family::deepseek_v3),
      5);
  check_router(
      router_config(ScoringFunc::softmax, TopkMethod::greedy, 64, 6, 1, 1, false, 1.0, Family::deepseek_v1),
      6);
}

// 2. Ranks in token order with capacity: the same drops as the analysis reference.
TEST(CudaRouter, CapacityDropsMatchAnalysisReference) {
  MOESCOPE_REQUIRE_GPU();
  const int T = 300, k = 4, E = 16;
  std::mt19937 rng(7);
  std::vector<int32_t> ids(static_cast<size_t>(T * k));
  std::vector<float> weights(ids.size(), 0.25f);
  for (int t = 0; t < T; ++t) {
    // Skewed and distinct per token: expert e with probability ~ 1/(e+1).
    std::vector<int32_t> pool(E);
    for (int e = 0; e < E; ++e) pool[e] = e;
    for (int j = 0; j < k; ++j) {
      std::vector<double> w;
      for (int32_t e : pool) w.push_back(1.0 / (e + 1));
      std::discrete_distribution<int> pick(w.begin(), w.end());
      const int i = pick(rng);
      ids[static_cast<size_t>(t * k + j)] = pool[static_cast<size_t>(i)];
      pool.erase(pool.begin() + i);
    }
  }
  const double factor = 1.0;
  const int capacity = static_cast<int>(analysis::expert_capacity(factor, T, k, E));
  std::vector<uint8_t> ref(ids.size(), 0);
  analysis::capacity_drop_mask(ids, weights, T, k, E, factor, analysis::OverflowOrder::token_order, ref);

  const int A = T * k;
  gpu::DeviceBuffer d_ids(ids.size() * 4), rank(ids.size() * 4), counts(E * 4), dropped(ids.size()),
      offsets((E + 1) * 4);
  cudaMemcpy(d_ids.data(), ids.data(), ids.size() * 4, cudaMemcpyHostToDevice);
  gpu::launch_dispatch_ranks(d_ids.as<int32_t>(), A, E, capacity, rank.as<int32_t>(), counts.as<int32_t>(),
                             dropped.as<uint8_t>(), offsets.as<int32_t>(), nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const auto got = download<uint8_t>(dropped, ids.size());
  EXPECT_EQ(got, ref);
  int64_t n_dropped = 0;
  for (uint8_t d : ref) n_dropped += d;
  EXPECT_GT(n_dropped, 0) << "the skewed routing should overflow some expert";
  const auto off = download<int32_t>(offsets, E + 1);
  EXPECT_EQ(off[E], A - n_dropped);
}

// --fused-routing: router logits W (xb + xlo) and the routing in one kernel. Logits against doubles
// of the same bf16 inputs; ids, scores and weights against core's reference routing of the logits
// the kernel wrote; launched twice, so the block counter must have been left at zero.
void check_fused_router(const ModelConfig& c, int T, uint32_t seed, bool warp_topk = false) {
  SCOPED_TRACE("fused router, E " + std::to_string(c.n_routed_experts) + " T " + std::to_string(T) +
               (warp_topk ? ", warp top-k" : ""));
  const int E = static_cast<int>(c.n_routed_experts), k = static_cast<int>(c.top_k), hidden = 512;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto bf16_vector = [&](size_t n, float scale) {
    std::vector<gpu::bf16> v(n);
    for (auto& x : v) x = __float2bfloat16(scale * normal(rng));
    return v;
  };
  const auto W = bf16_vector(static_cast<size_t>(E) * hidden, 0.2f);
  const auto xb = bf16_vector(static_cast<size_t>(T) * hidden, 1.0f);
  const auto xlo = bf16_vector(static_cast<size_t>(T) * hidden, 0.004f);
  std::vector<float> bias;
  if (c.topk_method == TopkMethod::noaux_tc) {
    bias.resize(static_cast<size_t>(E));
    for (float& v : bias) v = 0.1f * normal(rng);
  }
  auto to_device = [](const auto& v) {
    gpu::DeviceBuffer d(std::max<size_t>(v.size(), 1) * sizeof(v[0]));
    if (!v.empty()) {
      EXPECT_EQ(cudaMemcpy(d.data(), v.data(), v.size() * sizeof(v[0]), cudaMemcpyHostToDevice), cudaSuccess);
    }
    return d;
  };
  const auto d_W = to_device(W), d_xb = to_device(xb), d_xlo = to_device(xlo), d_bias = to_device(bias);
  gpu::DeviceBuffer d_logits(static_cast<size_t>(T * E) * 4), d_scores(static_cast<size_t>(T * E) * 4),
      d_ids(static_cast<size_t>(T * k) * 4), d_weights(static_cast<size_t>(T * k) * 4), counter(4);
  ASSERT_EQ(cudaMemset(counter.data(), 0, 4), cudaSuccess);
  gpu::RouteParams p;
  p.T = T;
  p.E = E;
  p.k = k;
  p.sigmoid = c.scoring == ScoringFunc::sigmoid;
  p.method = static_cast<int>(c.topk_method);
  p.n_group = static_cast<int>(c.n_group);
  p.topk_group = static_cast<int>(c.topk_group);
  p.bias = bias.empty() ? nullptr : d_bias.as<float>();
  p.norm_topk = c.norm_topk_prob && k > 1;
  p.scaling = (c.family == Family::deepseek_v2 ? !p.norm_topk : true)
                  ? static_cast<float>(c.routed_scaling_factor)
                  : 1.0f;
  p.scores = d_scores.as<float>();
  p.ids = d_ids.as<int32_t>();
  p.weights = d_weights.as<float>();
  p.warp_topk = warp_topk;
  for (int launch = 0; launch < 2; ++launch) {
    ASSERT_EQ(cudaMemset(d_ids.data(), 0xff, d_ids.bytes()), cudaSuccess);
    gpu::launch_router_route(d_W.as<gpu::bf16>(), E, hidden, d_xb.as<gpu::bf16>(), d_xlo.as<gpu::bf16>(),
                             hidden, d_logits.as<float>(), p, counter.as<unsigned>(), nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(download<uint32_t>(counter, 1)[0], 0u) << "block counter not left at zero";
    const auto logits = download<float>(d_logits, static_cast<size_t>(T * E));
    for (int t = 0; t < T; ++t) {
      for (int e = 0; e < E; ++e) {
        double want = 0;
        for (int i = 0; i < hidden; ++i)
          want += static_cast<double>(__bfloat162float(W[static_cast<size_t>(e) * hidden + i])) *
                  (static_cast<double>(__bfloat162float(xb[static_cast<size_t>(t) * hidden + i])) +
                   __bfloat162float(xlo[static_cast<size_t>(t) * hidden + i]));
        ASSERT_NEAR(logits[static_cast<size_t>(t) * E + e], want, 1e-4 * (1 + std::abs(want)));
      }
    }
    std::vector<float> ref_scores(logits.size()), ref_weights(static_cast<size_t>(T * k));
    std::vector<int32_t> ref_ids(static_cast<size_t>(T * k));
    route_tokens(c, logits, T, bias, {ref_scores, ref_ids, ref_weights});
    const auto scores = download<float>(d_scores, logits.size());
    const auto weights = download<float>(d_weights, ref_weights.size());
    EXPECT_EQ(download<int32_t>(d_ids, ref_ids.size()), ref_ids);
    for (size_t i = 0; i < scores.size(); ++i)
      ASSERT_NEAR(scores[i], ref_scores[i], 1e-5f * (1 + ref_scores[i]));
    for (size_t i = 0; i < weights.size(); ++i)
      ASSERT_NEAR(weights[i], ref_weights[i], 1e-5f * (1 + ref_weights[i]));
  }
}

// 3. The fused router for each family's rule, one token and four, with and without --warp-topk.
TEST(CudaRouter, FusedRouterMatchesReferenceForEveryRule) {
  MOESCOPE_REQUIRE_GPU();
  for (const bool warp : {false, true}) {
    for (int T : {1, 4}) {
      check_fused_router(
          router_config(ScoringFunc::softmax, TopkMethod::greedy, 8, 2, 1, 1, true, 1.0, Family::mixtral), T,
          11, warp);
      check_fused_router(router_config(ScoringFunc::softmax, TopkMethod::greedy, 64, 6, 1, 1, false, 1.0,
                                       Family::deepseek_v2),
                         T, 12, warp);
      check_fused_router(router_config(ScoringFunc::softmax, TopkMethod::group_limited_greedy, 160, 6, 8, 3,
                                       false, 16.0, Family::deepseek_v2),
                         T, 13, warp);
      check_fused_router(router_config(ScoringFunc::sigmoid, TopkMethod::noaux_tc, 256, 8, 8, 4, true, 2.5,
                                       Family::deepseek_v3),
                         T, 14, warp);
    }
  }
}

}  // namespace
}  // namespace moescope

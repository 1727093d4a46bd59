#include "core/cpu/feed_forward.h"

#include <algorithm>

#include "core/analysis/capacity.h"
#include "core/routing.h"

namespace moescope::cpu {

namespace {

}  // namespace

void swiglu_forward(ThreadPool& pool, const FeedForwardWeights& w, const float* x, int64_t n, float* out) {
  const int64_t width = w.gate.rows;
  std::vector<float> gate(static_cast<size_t>(n * width)), up(static_cast<size_t>(n * width));
  matmul(pool, x, n, w.gate, gate.data());
  matmul(pool, x, n, w.up, up.data());
  for (size_t i = 0; i < gate.size(); ++i) gate[i] = silu(gate[i]) * up[i];
  matmul(pool, gate.data(), n, w.down, out);
}

void moe_forward(ThreadPool& pool, const ModelConfig& c, const LayerWeights& w, const float* x, int64_t n,
                 double enforce_capacity_factor, const ForcedRouting& forced, MoeRouting& routing, float* out,
                 const PhaseClock& clock) {
  const int64_t E = c.n_routed_experts, hidden = c.hidden_size;
  RoutingOverride* override_rule = forced.routing_override;
  const int64_t k = override_rule ? override_rule->width() : c.top_k;
  routing.k = k;

  double t0 = now_us();
  routing.router_logits.resize(static_cast<size_t>(n * E));
  routing.scores.resize(static_cast<size_t>(n * E));
  routing.topk_ids.resize(static_cast<size_t>(n * k));
  routing.topk_weights.resize(static_cast<size_t>(n * k));
  matmul(pool, x, n, w.router, routing.router_logits.data());
  std::vector<float> bias;
  if (w.router_bias.present()) bias = vector_f32(w.router_bias);
  if (!override_rule) {
    route_tokens(c, routing.router_logits, n, bias, {routing.scores, routing.topk_ids, routing.topk_weights});
  } else {
    // The scores the observer reports stay the model's own; only the choice is replaced.
    std::vector<int32_t> own_ids(static_cast<size_t>(n * c.top_k));
    std::vector<float> own_weights(own_ids.size());
    route_tokens(c, routing.router_logits, n, bias, {routing.scores, own_ids, own_weights});
  }
  routing.dropped.clear();
  if (override_rule) {
    routing.dropped.assign(static_cast<size_t>(n * k), 0);
    override_rule->route({routing.router_logits, static_cast<int32_t>(n), static_cast<int32_t>(E),
                          forced.first_position, forced.token_ids, forced.layer},
                         {static_cast<int32_t>(k), routing.topk_ids, routing.topk_weights, routing.dropped});
    if (std::find(routing.dropped.begin(), routing.dropped.end(), uint8_t{1}) == routing.dropped.end())
      routing.dropped.clear();
  } else if (enforce_capacity_factor > 0) {
    routing.dropped.assign(static_cast<size_t>(n * k), 0);
    analysis::capacity_drop_mask(routing.topk_ids, routing.topk_weights, static_cast<int32_t>(n),
                                 static_cast<int32_t>(k), static_cast<int32_t>(E), enforce_capacity_factor,
                                 analysis::OverflowOrder::token_order, routing.dropped);
  }
  double t1 = now_us();
  clock(Phase::router, t0, t1 - t0);

  // Dispatch: group the kept assignments by expert, in token order.
  std::vector<std::vector<int64_t>> assignments(static_cast<size_t>(E));  // expert -> (token*k + slot)
  for (int64_t a = 0; a < n * k; ++a)
    if (routing.topk_ids[a] >= 0 && (routing.dropped.empty() || !routing.dropped[a]))
      assignments[routing.topk_ids[a]].push_back(a);
  double t2 = now_us();
  clock(Phase::dispatch, t1, t2 - t1);

  // Experts: each computes its tokens' outputs into the assignment's row.
  std::vector<float> expert_out(static_cast<size_t>(n * k * hidden), 0.0f);  // (n*k, hidden)
  std::vector<float> gathered, result;
  for (int64_t e = 0; e < E; ++e) {
    const auto& rows = assignments[e];
    if (rows.empty()) continue;
    const int64_t m = static_cast<int64_t>(rows.size());
    gathered.resize(static_cast<size_t>(m * hidden));
    result.resize(static_cast<size_t>(m * hidden));
    for (int64_t i = 0; i < m; ++i)
      std::copy(x + (rows[i] / k) * hidden, x + (rows[i] / k + 1) * hidden, gathered.begin() + i * hidden);
    swiglu_forward(pool, w.experts[e], gathered.data(), m, result.data());
    for (int64_t i = 0; i < m; ++i)
      std::copy(result.begin() + i * hidden, result.begin() + (i + 1) * hidden, expert_out.begin() + rows[i] * hidden);
  }
  double t3 = now_us();
  clock(Phase::experts, t2, t3 - t2);

  // Combine: weighted sum over each token's slots, in slot order.
  for (int64_t t = 0; t < n; ++t) {
    float* o = out + t * hidden;
    std::fill(o, o + hidden, 0.0f);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t a = t * k + j;
      if (routing.topk_ids[a] < 0 || (!routing.dropped.empty() && routing.dropped[a])) continue;
      const float weight = routing.topk_weights[a];
      const float* y = &expert_out[a * hidden];
      for (int64_t d = 0; d < hidden; ++d) o[d] += weight * y[d];
    }
  }
  double t4 = now_us();
  clock(Phase::combine, t3, t4 - t3);

  if (w.has_shared()) {
    std::vector<float> shared(static_cast<size_t>(n * hidden));
    swiglu_forward(pool, w.shared, x, n, shared.data());
    for (size_t i = 0; i < shared.size(); ++i) out[i] += shared[i];
    clock(Phase::shared_experts, t4, now_us() - t4);
  }
}

}  // namespace moescope::cpu

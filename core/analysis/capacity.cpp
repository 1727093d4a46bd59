// Capacity counts assignments, not tokens: a token whose k experts all have room occupies k slots.
// Steps are the unit because that is what one forward pass dispatches at once (the whole prompt in
// prefill, one token per decode step), matching what the engines enforce.
#include "core/analysis/capacity.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"

namespace moescope::analysis {

int64_t expert_capacity(double capacity_factor, int64_t n_tokens, int32_t top_k, int32_t n_experts) {
  if (!std::isfinite(capacity_factor) || capacity_factor <= 0.0) {
    fail_input("capacity factor must be a positive finite number, got " + std::to_string(capacity_factor));
  }
  if (n_tokens < 0 || top_k < 1 || n_experts < 1) {
    fail_input("expert capacity: need n_tokens >= 0, top_k >= 1, n_experts >= 1 (got " + std::to_string(n_tokens) +
               ", " + std::to_string(top_k) + ", " + std::to_string(n_experts) + ")");
  }
  const double exact = capacity_factor * static_cast<double>(n_tokens) * top_k / n_experts;
  const double nearest = std::round(exact);
  if (std::fabs(exact - nearest) <= 1e-9 * std::max(1.0, exact)) return static_cast<int64_t>(nearest);
  return static_cast<int64_t>(std::ceil(exact));
}

int64_t capacity_drop_mask(std::span<const int32_t> topk_ids, std::span<const float> topk_weights,
                           int32_t n_tokens, int32_t top_k, int32_t n_experts, double capacity_factor,
                           OverflowOrder order, std::span<uint8_t> dropped) {
  const int64_t capacity = expert_capacity(capacity_factor, n_tokens, top_k, n_experts);
  const size_t n_assign = static_cast<size_t>(n_tokens) * top_k;
  if (topk_ids.size() != n_assign || dropped.size() != n_assign) {
    fail_input("capacity drop mask: topk_ids has " + std::to_string(topk_ids.size()) + " and dropped " +
               std::to_string(dropped.size()) + " values, expected " + std::to_string(n_assign) +
               " (n_tokens x top_k)");
  }
  if (order == OverflowOrder::weight_priority && topk_weights.size() != n_assign) {
    fail_input("capacity drop mask: weight priority needs topk_weights of " + std::to_string(n_assign) +
               " values, got " + std::to_string(topk_weights.size()));
  }
  std::vector<int64_t> used(n_experts, 0);
  auto admit = [&](size_t i) -> int64_t {
    const int32_t e = topk_ids[i];
    if (e == kNoExpert) {  // an empty slot (expert choice) is no assignment
      dropped[i] = 0;
      return 0;
    }
    if (e < 0 || e >= n_experts) {
      fail_input("capacity drop mask: expert id " + std::to_string(e) + " outside [0, " + std::to_string(n_experts) + ")");
    }
    const bool drop = used[e] >= capacity;
    if (!drop) ++used[e];
    dropped[i] = drop ? 1 : 0;
    return drop ? 1 : 0;
  };

  int64_t n_dropped = 0;
  if (order == OverflowOrder::token_order) {
    for (size_t i = 0; i < n_assign; ++i) n_dropped += admit(i);
    return n_dropped;
  }
  for (size_t i = 0; i < n_assign; ++i) {
    if (std::isnan(topk_weights[i])) fail_input("capacity drop mask: topk weight " + std::to_string(i) + " is NaN");
  }
  std::vector<size_t> by_weight(n_assign);
  std::iota(by_weight.begin(), by_weight.end(), size_t{0});
  std::stable_sort(by_weight.begin(), by_weight.end(),
                   [&](size_t a, size_t b) { return topk_weights[a] > topk_weights[b]; });
  for (size_t i : by_weight) n_dropped += admit(i);
  return n_dropped;
}

CapacityOverflow simulate_capacity(const RoutingArrays& a, double capacity_factor, OverflowOrder order) {
  validate(a);
  expert_capacity(capacity_factor, 1, 1, 1);  // rejects a bad factor even for an empty run
  CapacityOverflow out;
  out.capacity_factor = capacity_factor;
  out.order = order;
  out.n_layers = a.n_layers;
  out.n_experts = a.n_experts;
  out.overflow.assign(static_cast<size_t>(a.n_layers) * a.n_experts, 0);
  out.dropped_per_layer.assign(a.n_layers, 0);
  out.dropped.assign(a.topk_ids.size(), 0);
  out.n_assignments = static_cast<int64_t>(a.topk_ids.size()) -
                      std::count(a.topk_ids.begin(), a.topk_ids.end(), kNoExpert);

  for (int32_t layer = 0; layer < a.n_layers; ++layer) {
    int32_t begin = 0;
    while (begin < a.n_tokens) {
      int32_t end = begin;
      while (end < a.n_tokens && a.step_of_token[end] == a.step_of_token[begin]) ++end;
      const size_t off = a.topk_offset(layer, begin);
      const size_t len = static_cast<size_t>(end - begin) * a.top_k;
      const std::span<const int32_t> ids(a.topk_ids.data() + off, len);
      const std::span<const float> weights(a.topk_weights.data() + off, len);
      const std::span<uint8_t> mask(out.dropped.data() + off, len);
      const int64_t n = capacity_drop_mask(ids, weights, end - begin, a.top_k, a.n_experts, capacity_factor, order, mask);
      out.dropped_per_layer[layer] += n;
      for (size_t i = 0; i < len; ++i) {
        if (mask[i]) ++out.overflow[static_cast<size_t>(layer) * a.n_experts + ids[i]];
      }
      begin = end;
    }
    out.n_dropped += out.dropped_per_layer[layer];
  }
  return out;
}

int64_t layer_dropped(const RoutingArrays& a, int32_t layer, double capacity_factor, OverflowOrder order) {
  if (layer < 0 || layer >= a.n_layers) {
    fail_input("layer_dropped: layer index " + std::to_string(layer) + " is outside [0, " + std::to_string(a.n_layers) + ")");
  }
  int64_t dropped = 0;
  std::vector<uint8_t> mask;
  int32_t begin = 0;
  while (begin < a.n_tokens) {
    int32_t end = begin;
    while (end < a.n_tokens && a.step_of_token[end] == a.step_of_token[begin]) ++end;
    const size_t off = a.topk_offset(layer, begin);
    const size_t len = static_cast<size_t>(end - begin) * a.top_k;
    mask.resize(len);
    dropped += capacity_drop_mask(std::span(a.topk_ids.data() + off, len), std::span(a.topk_weights.data() + off, len),
                                  end - begin, a.top_k, a.n_experts, capacity_factor, order, mask);
    begin = end;
  }
  return dropped;
}

double drop_rate(const CapacityOverflow& o) {
  if (o.n_assignments == 0) return 0.0;
  return static_cast<double>(o.n_dropped) / static_cast<double>(o.n_assignments);
}

double layer_drop_rate(const CapacityOverflow& o, int32_t layer) {
  if (layer < 0 || layer >= o.n_layers) {
    fail_input("layer_drop_rate: layer index " + std::to_string(layer) + " is outside [0, " + std::to_string(o.n_layers) + ")");
  }
  const int64_t per_layer = o.n_layers == 0 ? 0 : o.n_assignments / o.n_layers;
  if (per_layer == 0) return 0.0;
  return static_cast<double>(o.dropped_per_layer[layer]) / static_cast<double>(per_layer);
}

}  // namespace moescope::analysis

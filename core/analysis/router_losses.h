// Router-side quantities of one layer (or any block of token rows): auxiliary balancing losses as
// the training code computes them, ST-MoE's z-loss and the per-token routing entropy.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moescope::analysis {

// Row-wise softmax of (n_rows, n_experts) logits: the probabilities transformers' balancing loss
// recomputes from the gate logits.
std::vector<float> softmax_rows(std::span<const float> logits, int64_t n_rows, int32_t n_experts);

// Switch Transformer (Fedus et al. 2021, eq. 4) top-1 form: E * sum_e f_e * P_e with f_e the share
// of rows whose first (best) choice is e and P_e the mean probability of e. 1 at perfect balance.
// probs (n_rows, n_experts), topk_ids (n_rows, top_k) best first.
double switch_aux_loss(std::span<const float> probs, std::span<const int32_t> topk_ids, int64_t n_rows,
                       int32_t n_experts, int32_t top_k);

// transformers' load_balancing_loss_func (Mixtral, Qwen-MoE, OLMoE modelling code) without an
// attention mask: E * sum_e f_e * P_e where f_e = (rows with e anywhere in their top-k) / n_rows.
// Equals top_k at perfect balance. transformers concatenates every layer's rows before computing
// it; pass all layers' rows to get that number, one layer's rows for the per-layer value.
double transformers_aux_loss(std::span<const float> probs, std::span<const int32_t> topk_ids, int64_t n_rows,
                             int32_t n_experts, int32_t top_k);

// ST-MoE (Zoph et al. 2022, eq. 5) router z-loss: mean over rows of (logsumexp of the logits)^2.
double router_z_loss(std::span<const float> logits, int64_t n_rows, int32_t n_experts);

// Mean over rows of the Shannon entropy (nats) of the row's scores, each row normalised to sum to 1
// first (a no-op for softmax routers; sigmoid routers' scores do not sum to 1). log E for uniform
// scores, 0 for one-hot.
double mean_token_entropy(std::span<const float> scores, int64_t n_rows, int32_t n_experts);

}  // namespace moescope::analysis

#include "core/analysis/metric_catalogue.h"

#include <array>

namespace moescope::analysis {
namespace {

constexpr std::array kCatalogue = {
    MetricInfo{"balancedness", "Balancedness", "mean_e c_e / max_e c_e", "1", "SGLang expert-distribution recorder", "balancedness"},
    MetricInfo{"rank_balancedness", "Balancedness over EP ranks", "mean_r L_r / max_r L_r, L_r = sum of c_e hosted on rank r", "1",
               "SGLang (per GPU)", "balancedness(rank_load(...))"},
    MetricInfo{"max_vio", "MaxVio", "max_e c_e / mean_e c_e - 1", "0", "Wang et al. 2024, Auxiliary-Loss-Free Load Balancing", "max_vio"},
    MetricInfo{"max_over_mean", "Max / mean load", "max_e c_e / mean_e c_e", "1", "", "max_over_mean"},
    MetricInfo{"cv", "Coefficient of variation", "sigma(c) / mu(c), population sigma", "0", "", "coefficient_of_variation"},
    MetricInfo{"gini", "Gini coefficient", "sum_i sum_j |c_i - c_j| / (2 E^2 mu)", "0 (one hot expert: (E-1)/E)", "", "gini"},
    MetricInfo{"jain", "Jain's fairness", "(sum_e c_e)^2 / (E sum_e c_e^2)", "1 (one hot expert: 1/E)", "Jain et al. 1984", "jain_fairness"},
    MetricInfo{"load_entropy", "Normalised load entropy", "-sum_e p_e ln p_e / ln E, p_e = c_e / sum c", "1", "", "normalised_load_entropy"},
    MetricInfo{"token_entropy", "Routing entropy (per token)", "mean_t -sum_e s_te ln s_te, scores normalised per token (nats)", "ln E",
               "", "mean_token_entropy"},
    MetricInfo{"switch_aux_loss", "Switch auxiliary loss", "E sum_e f_e P_e, f_e = share of tokens whose top-1 is e, P_e = mean prob",
               "1", "Fedus et al. 2021 (Switch Transformer) eq. 4", "switch_aux_loss"},
    MetricInfo{"aux_loss", "Load-balancing loss (transformers)", "E sum_e f_e P_e, f_e = share of tokens with e in top-k", "k",
               "transformers load_balancing_loss_func (Mixtral, Qwen-MoE, OLMoE)", "transformers_aux_loss"},
    MetricInfo{"z_loss", "Router z-loss", "mean_t (ln sum_e exp x_te)^2", "(ln E + x)^2 for logits all equal to x", "Zoph et al. 2022 (ST-MoE) eq. 5",
               "router_z_loss"},
    MetricInfo{"experts_touched", "Experts touched per step", "mean over steps of |{e : c_e(step) >= 1}|", "E (1 - (1 - k/E)^T)", "",
               "experts_touched"},
    MetricInfo{"experts_touched_uniform", "Experts touched, uniform expectation", "mean over steps of E (1 - (1 - k/E)^T_step)", "-", "",
               "expected_experts_touched"},
    MetricInfo{"drop_rate", "Drop rate at capacity factor C", "overflowing / all assignments, capacity ceil(C T k / E) per expert and step",
               "0 for C >= 1 when every expert gets exactly T k / E", "Lepikhin et al. 2020 (GShard), Fedus et al. 2021", "simulate_capacity, layer_dropped"},
    MetricInfo{"repetition_top1", "Consecutive same top-1", "share of adjacent tokens with the same top-1 expert", "1/E", "Jiang et al. 2024 (Mixtral) sec. 5",
               "consecutive_repetition"},
    MetricInfo{"repetition_any", "Consecutive shared top-k", "share of adjacent tokens whose top-k sets intersect", "1 - C(E-k, k) / C(E, k)",
               "Jiang et al. 2024 (Mixtral) sec. 5", "consecutive_repetition"},
    MetricInfo{"vocab_spec_input", "Vocabulary specialisation (input ids)",
               "mean over ids x seen >= 5 times of max_e N(x -> e) / N(x), top-1 expert", "-> 1/E for frequent ids", "Muennighoff et al. 2024 (OLMoE) sec. 5",
               "vocabulary_specialisation"},
    MetricInfo{"vocab_spec_predicted", "Vocabulary specialisation (predicted ids)", "as above over the next token's id", "-> 1/E for frequent ids",
               "Muennighoff et al. 2024 (OLMoE) sec. 5", "vocabulary_specialisation, next_token_ids"},
    MetricInfo{"next_layer_predictability", "Cross-layer consistency", "sum_x max_y N(x, y) / T over top-1 experts of this and the next MoE layer",
               "about 1/E", "", "layer_transition"},
    MetricInfo{"next_layer_nmi", "Cross-layer mutual information", "I(X; Y) / ln E of top-1 experts of this and the next MoE layer", "0", "",
               "layer_transition"},
    MetricInfo{"", "Co-activation", "P(j | i) = N(i and j in one token's top-k) / N(i)", "(k-1)/(E-1)", "", "co_activation"},
    MetricInfo{"", "Domain specialisation", "share_{tag,e} = c_{tag,e} / sum_e c_{tag,e}; OLMoE's token fraction = k share", "1/E",
               "Muennighoff et al. 2024 (OLMoE) sec. 5", "domain_specialisation"},
    MetricInfo{"", "Expert tag preference", "chi-square of the 2 x tags table (tokens routed to e or not), dof = tags - 1", "p uniform on [0, 1]",
               "", "expert_tag_preference"},
    MetricInfo{"", "Jensen-Shannon divergence", "(KL(p || m) + KL(q || m)) / 2, m = (p + q) / 2, bits", "0 between identical routings", "",
               "js_divergence_per_layer, tag_js_divergence, jsd_permutation_test"},
    MetricInfo{"", "Next-token KL", "sum_v P_v (ln P_v - ln Q_v), P dropless, Q capacity-enforced, nats", "0", "", "next_token_kl"},
    MetricInfo{"", "Router agreement", "(1/T) sum_t |S_t^a ∩ S_t^b| / k", "k/E", "Muennighoff et al. 2024 (OLMoE) router saturation",
               "router_agreement"},
    MetricInfo{"", "EP traffic", "token copies src -> dst rank, one per destination hosting >= 1 of the token's experts", "-", "DeepEP / Megatron all-to-all",
               "step_traffic, run_traffic, modeled_step_us"},
    MetricInfo{"", "EPLB max rank load", "max_r sum of load/copies hosted on r, before and after replication", "total load / R",
               "DeepSeek EPLB", "eplb_placement"},
};

}  // namespace

std::span<const MetricInfo> metric_catalogue() { return kCatalogue; }

const MetricInfo* find_metric(std::string_view key) {
  if (key.empty()) return nullptr;
  for (const MetricInfo& m : kCatalogue) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

}  // namespace moescope::analysis

// Fuzz target: parse_model_config over arbitrary text (a config.json). What it accepts must be a
// config the engines can size buffers from: positive dimensions, one MoE flag per layer, top_k
// within the expert count.
#include <string>

#include "core/error.h"
#include "core/model_config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moescope;
  try {
    const auto c = parse_model_config(std::string(reinterpret_cast<const char*>(data), size), "config.json");
    if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.num_kv_heads <= 0)
      fuzz::violated("a non-positive model dimension was accepted");
    if (c.layer_is_moe.size() != static_cast<size_t>(c.num_layers)) fuzz::violated("layer_is_moe does not have num_layers entries");
    if (!c.moe_layers().empty() && (c.top_k <= 0 || c.top_k > c.n_routed_experts)) fuzz::violated("top_k outside [1, n_routed_experts]");
    if (c.qk_head_dim() <= 0 || c.value_head_dim() <= 0) fuzz::violated("a non-positive head dimension was accepted");
    (void)c.attention_scale();
  }
  MOESCOPE_FUZZ_EXPECTED_ERRORS
  return 0;
}

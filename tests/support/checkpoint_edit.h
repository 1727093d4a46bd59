// Damaging a copied checkpoint on purpose, for the tests that check how bad weights are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace moescope::test {

// Rewrites `file` (safetensors) with element `element` of the bf16 tensor `tensor` set to the raw
// bits `bf16_bits` (0x7fc0 is NaN, 0xff80 is -Inf). Throws std::logic_error when the tensor is
// missing, not bf16, or shorter.
void set_bf16_element(const std::filesystem::path& file, const std::string& tensor, size_t element,
                      uint16_t bf16_bits);

}  // namespace moescope::test

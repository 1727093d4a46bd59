// How a token's bytes are shown in token views: spaces as a visible marker, control characters
// and stray bytes escaped, so every token is visible and distinguishable on one line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace moescope {

// "␣" (U+2423) for a space; \n \t \r; other control characters and bytes that are not part of
// well-formed UTF-8 as \xNN (C1 controls as \u00NN); everything else as itself.
std::string display_text_from_bytes(std::string_view bytes);

// For an id the tokenizer has no token for: models often have more embedding rows than the
// tokenizer has tokens (DeepSeek-V3: 129280 vs 128815), and a sampled id may land there.
std::string display_text_of_unknown_id(int32_t id);

}  // namespace moescope

// Tokenizing text a user gave (a prompt, tokenize's stdin). A tokenizer holds about 190 bytes per
// byte of text at its peak (a 10 MB prompt took 1.9 GB), so a long text can ask for more memory than
// the machine has: that becomes a ResourceError saying what needed how much, not std::bad_alloc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tokenizer.h"

namespace moescope {

inline constexpr uint64_t kTokenizerPeakBytesPerTextByte = 190;

// tokenizer.encode(text, add_special); `what` names the text in the out-of-memory line.
std::vector<int32_t> encode_user_text(const Tokenizer& tokenizer, std::string_view text, bool add_special,
                                      const std::string& what);

}  // namespace moescope

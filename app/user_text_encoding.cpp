#include "app/user_text_encoding.h"

#include <new>

#include "core/error.h"

namespace moescope {

std::vector<int32_t> encode_user_text(const Tokenizer& tokenizer, std::string_view text, bool add_special,
                                      const std::string& what) {
  try {
    return tokenizer.encode(text, add_special);
  } catch (const std::bad_alloc&) {
    throw ResourceError("out of memory tokenizing " + what + " of " + std::to_string(text.size()) +
                        " bytes (the tokenizer needs about " +
                        std::to_string(text.size() * kTokenizerPeakBytesPerTextByte / (1u << 20)) +
                        " MiB for it, ~190 bytes per byte of text)");
  }
}

}  // namespace moescope

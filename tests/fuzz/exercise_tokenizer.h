// What both tokenizer fuzz targets do with a tokenizer that loaded: encode (with and without the
// template) fixed texts (ASCII, CJK, emoji, invalid UTF-8, special-token lookalikes, empty) and an
// optional fuzzed text; every id encode returns must be in the vocabulary, decode and display.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace moescope::fuzz {

inline void encode_and_decode(const Tokenizer& tokenizer, std::string_view text) {
  try {
    for (bool add_special : {false, true}) {
      const auto ids = tokenizer.encode(text, add_special);
      for (int32_t id : ids) {
        if (id < 0 || id >= tokenizer.vocab_size()) violated("encode returned an id outside the vocabulary");
        (void)tokenizer.piece(id);
        (void)tokenizer.display_text(id);
      }
      (void)tokenizer.decode(ids);
    }
  }
  MOESCOPE_FUZZ_EXPECTED_ERRORS
}

inline void exercise_tokenizer(const Tokenizer& tokenizer) {
  for (std::string_view text : {std::string_view("Hello world!  def f(x):\n\treturn x**2"),
                                std::string_view("日本語のテキスト 🙂 مرحبا"), std::string_view("<s></s><unk> <|endoftext|>"),
                                std::string_view("ab\xff\xc3", 4), std::string_view()})
    encode_and_decode(tokenizer, text);
  (void)tokenizer.bos_id();
  (void)tokenizer.eos_id();
  for (int32_t id : {-1, 0, tokenizer.vocab_size() - 1, tokenizer.vocab_size()}) {
    try {
      (void)tokenizer.display_text(id);
      (void)tokenizer.piece(id);
    }
    MOESCOPE_FUZZ_EXPECTED_ERRORS
  }
}

}  // namespace moescope::fuzz

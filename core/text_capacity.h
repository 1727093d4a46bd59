// How much text a number of tokens can stand for, so that a prompt too long for the context is
// refused by its length in bytes before it is tokenized: tokenizing costs ~190 bytes of memory and
// ~1 us per byte of text, so a 10 MB prompt took 8 s and 1.9 GB only to be refused afterwards.
//
// The bound: a token stands for at most its vocabulary piece's bytes of normalised text (a
// SentencePiece "▁" is 3 bytes for one space, a byte-level "Ġ" 2 for one, "<0x0A>" 6 for one byte),
// and normalisation (NFKC) shrinks one character by at most 4 times (U+1D400 𝐀, 4 bytes, becomes
// "A"). So T tokens hold at most T x longest piece x 4 bytes of text. Only text that normalisation
// deletes (a collapsed run of spaces) or that becomes one unknown token could fit beyond it; a
// prompt that long is refused anyway: it is not a prompt anyone means to run.
#pragma once

#include <cstddef>
#include <cstdint>

namespace moescope {

class Tokenizer;

class TextCapacity {
 public:
  // Reads the tokenizer's vocabulary once (its longest piece).
  explicit TextCapacity(const Tokenizer& tokenizer);

  // The most bytes of text that `tokens` tokens can stand for (0 when tokens <= 0).
  uint64_t max_text_bytes(int64_t tokens) const;
  size_t longest_piece_bytes() const { return longest_piece_bytes_; }

  static constexpr uint64_t kMaxShrinkPerCharacter = 4;

 private:
  size_t longest_piece_bytes_ = 1;
};

}  // namespace moescope

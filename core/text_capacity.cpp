#include "core/text_capacity.h"

#include <algorithm>

#include "core/tokenizer.h"

namespace moescope {

TextCapacity::TextCapacity(const Tokenizer& tokenizer) {
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id)
    longest_piece_bytes_ = std::max(longest_piece_bytes_, tokenizer.piece(id).size());
}

uint64_t TextCapacity::max_text_bytes(int64_t tokens) const {
  if (tokens <= 0) return 0;
  return static_cast<uint64_t>(tokens) * longest_piece_bytes_ * kMaxShrinkPerCharacter;
}

}  // namespace moescope

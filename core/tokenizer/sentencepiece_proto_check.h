// A check of a SentencePiece model's pieces, read straight from the protobuf wire format, before
// libsentencepiece sees the model. The library builds a Darts trie from the pieces, and Darts
// throws from code that cannot unwind through libsentencepiece (the process aborts) when a piece
// is empty or holds a NUL byte; such a model must be refused here instead (found by
// tests/fuzz/fuzz_sentencepiece_model).
#pragma once

#include <string>
#include <string_view>

namespace moescope {

// InputError naming `file_label` and the piece's index when a piece is empty or holds a NUL.
// Bytes that are not a well-formed protobuf are left for libsentencepiece to refuse.
void check_sentencepiece_pieces(std::string_view model_bytes, const std::string& file_label);

}  // namespace moescope

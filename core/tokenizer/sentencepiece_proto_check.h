// A check of a SentencePiece model, read straight from the protobuf wire format, before
// libsentencepiece sees it; both defects were found by tests/fuzz/fuzz_sentencepiece_model.
// - Pieces: the library builds a Darts trie from them, and Darts throws from code that cannot
//   unwind through libsentencepiece (the process aborts) when a piece is empty or holds a NUL byte.
// - Normalizer charsmaps: the library walks them without bounds checks, so a malformed one makes
//   Encode or Decode read out of bounds (sentencepiece_charsmap_check.h).
#pragma once

#include <string>
#include <string_view>

namespace moescope {

// InputError naming `file_label` and the piece's index when a piece is empty or holds a NUL, or
// naming the spec and the defect when a charsmap is malformed. Bytes that are not a well-formed
// protobuf are left for libsentencepiece to refuse.
void check_sentencepiece_model(std::string_view model_bytes, const std::string& file_label);

}  // namespace moescope

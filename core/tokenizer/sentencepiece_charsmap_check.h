// A check of a SentencePiece normalizer's `precompiled_charsmap` before libsentencepiece uses it.
// The blob is <trie size: u32 little-endian><Darts-clone double array><NUL-terminated strings>, and
// libsentencepiece walks the double array with no bounds checks at all: a malformed blob makes
// Encode read outside it (found by tests/fuzz/fuzz_sentencepiece_model). This walks every node the
// library could reach on any input bytes and checks each read it would make.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace moescope {

// What is wrong with a non-empty charsmap blob, or nullopt when every read libsentencepiece can
// make from it stays inside it.
std::optional<std::string> charsmap_defect(std::string_view blob);

}  // namespace moescope

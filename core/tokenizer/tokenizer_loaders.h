// The two tokenizer implementations, as load_tokenizer_file dispatches to them.
#pragma once

#include <filesystem>
#include <memory>

#include "core/tokenizer.h"

namespace moescope {

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::filesystem::path& file);
std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& file);

}  // namespace moescope

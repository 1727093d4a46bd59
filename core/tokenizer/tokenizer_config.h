// The parts of a checkpoint's tokenizer_config.json the tokenizers use: which tokens are BOS/EOS
// and whether SentencePiece encoding adds them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace moescope {

struct TokenizerConfig {
  std::optional<std::string> bos_token;  // token text, e.g. "<s>"
  std::optional<std::string> eos_token;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
};

// Reads tokenizer_config.json from `dir`; an absent file gives an empty config, a malformed one
// an InputError naming it.
TokenizerConfig read_tokenizer_config(const std::filesystem::path& dir);

}  // namespace moescope

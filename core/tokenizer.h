// Text <-> token ids. Two implementations: tokenizer.model through libsentencepiece, and
// tokenizer.json (Hugging Face `tokenizers` format) implemented in this project.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // `add_special`: apply the tokenizer's template (BOS etc.), as HF's add_special_tokens=True.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special) const = 0;
  // As HF's decode(ids) with skip_special_tokens=False.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  // The vocabulary piece as stored ("▁the", "Ġthe", "<0x0A>").
  virtual std::string piece(int32_t id) const = 0;
  // Readable text for token views: byte pieces as their character or \xNN, ▁/Ġ as a visible
  // space marker, control characters escaped (\n, \t).
  virtual std::string display_text(int32_t id) const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
};

// By file name: *.model -> SentencePiece, *.json -> tokenizer.json.
std::unique_ptr<Tokenizer> load_tokenizer_file(const std::filesystem::path& file);
// A checkpoint folder: tokenizer.model wins over tokenizer.json; neither -> InputError.
std::unique_ptr<Tokenizer> load_tokenizer_for_model(const std::filesystem::path& dir);

}  // namespace moescope

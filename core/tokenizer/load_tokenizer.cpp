// Which tokenizer implementation a file or checkpoint folder gets.
#include "core/error.h"
#include "core/input_file.h"
#include "core/tokenizer.h"
#include "core/tokenizer/tokenizer_loaders.h"

namespace moescope {

std::unique_ptr<Tokenizer> load_tokenizer_file(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::exists(file, error)) fail_input(file.string() + ": no such tokenizer file");
  require_regular_file(file);
  const auto extension = file.extension();
  if (extension == ".model") return load_sentencepiece_tokenizer(file);
  if (extension == ".json") return load_hf_tokenizer_json(file);
  fail_input(file.string() +
             ": unknown tokenizer file type (expected a SentencePiece .model or a tokenizer.json)");
}

std::unique_ptr<Tokenizer> load_tokenizer_for_model(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) fail_input(dir.string() + ": not a directory");
  // tokenizer.model first: it is the original the tokenizer.json was converted from.
  for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
    std::error_code error;  // present but not a regular file: refused by the loader, not skipped
    if (std::filesystem::exists(dir / name, error)) return load_tokenizer_file(dir / name);
  }
  fail_input(dir.string() + ": no tokenizer found (looked for tokenizer.model and tokenizer.json)");
}

}  // namespace moescope

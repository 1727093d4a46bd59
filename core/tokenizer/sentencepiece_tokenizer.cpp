// Tokenizer for SentencePiece tokenizer.model files through libsentencepiece. Whether encoding
// with special tokens adds BOS and EOS follows tokenizer_config.json beside the model when it
// says so, else the Llama convention (BOS only), as Hugging Face's LlamaTokenizer.
#include <sentencepiece_processor.h>

#include "core/error.h"
#include "core/input_file.h"
#include "core/tokenizer/byte_piece.h"
#include "core/tokenizer/display_text.h"
#include "core/tokenizer/sentencepiece_proto_check.h"
#include "core/tokenizer/tokenizer_config.h"
#include "core/tokenizer/tokenizer_loaders.h"
#include "core/tokenizer/utf8.h"

namespace moescope {
namespace {

constexpr size_t kMaxModelBytes = 256u << 20;

std::optional<int32_t> valid_id(int id) { return id >= 0 ? std::optional<int32_t>(id) : std::nullopt; }

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& file) : file_(file.string()) {
    // Loaded from bytes we read ourselves, so a missing or huge file gets our own clear error.
    const std::string bytes = read_regular_file(file, kMaxModelBytes);
    check_sentencepiece_model(bytes, file_);
    const auto status = processor_.LoadFromSerializedProto(bytes);
    if (!status.ok()) fail_input(file_ + ": not a SentencePiece model: " + status.ToString());
    if (processor_.GetPieceSize() <= 0) fail_input(file_ + ": SentencePiece model has no pieces");
    const TokenizerConfig config = read_tokenizer_config(file.parent_path());
    add_bos_ = config.add_bos_token.value_or(true);
    add_eos_ = config.add_eos_token.value_or(false);
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override {
    if (!utf8::is_valid(text)) fail_input("text to tokenize is not valid UTF-8");
    std::vector<int> pieces;
    const auto status = processor_.Encode(text, &pieces);
    if (!status.ok()) fail_input(file_ + ": encoding failed: " + status.ToString());
    std::vector<int32_t> ids;
    ids.reserve(pieces.size() + 2);
    if (add_special && add_bos_ && bos_id()) ids.push_back(*bos_id());
    ids.insert(ids.end(), pieces.begin(), pieces.end());
    if (add_special && add_eos_ && eos_id()) ids.push_back(*eos_id());
    return ids;
  }

  // libsentencepiece drops control tokens (<s>, </s>) when decoding; like HF's decode with
  // skip_special_tokens=False we keep them as their text, decoding the runs between them. Ids
  // outside the vocabulary are left out, as HF does.
  std::string decode(std::span<const int32_t> ids) const override {
    std::string text;
    std::vector<int> run;
    const auto flush = [&] {
      if (run.empty()) return;
      std::string part;
      const auto status = processor_.Decode(run, &part);
      if (!status.ok()) fail_input(file_ + ": decoding failed: " + status.ToString());
      text += part;
      run.clear();
    };
    for (const int32_t id : ids) {
      if (!in_vocabulary(id)) continue;
      if (processor_.IsControl(id)) {
        flush();
        text += processor_.IdToPiece(id);
      } else {
        run.push_back(id);
      }
    }
    flush();
    return text;
  }

  std::string piece(int32_t id) const override {
    return in_vocabulary(id) ? processor_.IdToPiece(id) : std::string();
  }

  std::string display_text(int32_t id) const override {
    if (!in_vocabulary(id)) return display_text_of_unknown_id(id);
    const std::string token = processor_.IdToPiece(id);
    if (processor_.IsByte(id)) {
      if (const auto byte = parse_byte_piece(token))
        return display_text_from_bytes(std::string(1, static_cast<char>(*byte)));
    }
    if (processor_.IsControl(id) || processor_.IsUnknown(id)) return display_text_from_bytes(token);
    std::string text;
    for (size_t pos = 0; pos < token.size();) {
      if (token.compare(pos, 3, "\xE2\x96\x81") == 0) {  // ▁ stands for a space
        text += ' ';
        pos += 3;
      } else {
        text += token[pos++];
      }
    }
    return display_text_from_bytes(text);
  }

  int32_t vocab_size() const override { return processor_.GetPieceSize(); }
  std::optional<int32_t> bos_id() const override { return valid_id(processor_.bos_id()); }
  std::optional<int32_t> eos_id() const override { return valid_id(processor_.eos_id()); }

 private:
  bool in_vocabulary(int32_t id) const { return id >= 0 && id < vocab_size(); }

  std::string file_;
  sentencepiece::SentencePieceProcessor processor_;
  bool add_bos_ = true;
  bool add_eos_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::filesystem::path& file) {
  return std::make_unique<SentencePieceTokenizer>(file);
}

}  // namespace moescope

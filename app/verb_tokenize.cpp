// `moescope tokenize`: text on stdin -> token ids, with the tokenizer of a file or of a checkpoint
// folder. One "id<TAB>display text" line per token, or with --json one JSON array of the ids.
#include <array>
#include <cstdio>
#include <iostream>
#include <memory>

#include "app/user_text_encoding.h"
#include "app/verb_registry.h"
#include "core/error.h"
#include "core/tokenizer.h"

namespace moescope {
namespace {

// Far more than any model's context holds (163,840 tokens of a few bytes each).
constexpr size_t kMaxTokenizeBytes = 16u << 20;

struct TokenizeArgs {
  std::string tokenizer_file;
  std::string model_dir;
  bool special = false;
  bool json = false;
};

void run_tokenize(const TokenizeArgs& args) {
  const auto tokenizer = args.tokenizer_file.empty() ? load_tokenizer_for_model(args.model_dir)
                                                     : load_tokenizer_file(args.tokenizer_file);
  // Taken verbatim, trailing newline included: the ids must be those of exactly the bytes given.
  // Capped: stdin may be /dev/zero, and tokenizing costs ~190 bytes of memory per byte of text.
  std::string text;
  std::array<char, 1 << 16> chunk;
  while (std::cin.read(chunk.data(), chunk.size()) || std::cin.gcount() > 0) {
    text.append(chunk.data(), static_cast<size_t>(std::cin.gcount()));
    if (text.size() > kMaxTokenizeBytes)
      fail_input("tokenize reads at most " + std::to_string(kMaxTokenizeBytes) + " bytes of text from stdin");
  }
  const std::vector<int32_t> ids = encode_user_text(*tokenizer, text, args.special, "the text on stdin");
  std::string out;
  if (args.json) {
    out += '[';
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(ids[i]);
    }
    out += "]\n";
  } else {
    for (const int32_t id : ids) out += std::to_string(id) + '\t' + tokenizer->display_text(id) + '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void add_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand(
      "tokenize", "Tokenize the text read from stdin (taken verbatim, trailing newline included)");
  auto* file =
      cmd->add_option("--tokenizer", args->tokenizer_file, "A tokenizer.model or tokenizer.json file");
  auto* model = cmd->add_option("--model", args->model_dir,
                                "Checkpoint folder: its tokenizer.model, else tokenizer.json");
  file->excludes(model);
  cmd->add_flag("--special", args->special,
                "Add the tokenizer's special tokens (BOS...) as its template says");
  cmd->add_flag("--json", args->json, "Print one JSON array of ids instead of id<TAB>text lines");
  cmd->callback([args, file, model] {
    if (!file->count() && !model->count()) throw CLI::RequiredError("--tokenizer or --model");
    run_tokenize(*args);
  });
}

}  // namespace

MOESCOPE_REGISTER_VERB(tokenize, add_tokenize);

}  // namespace moescope

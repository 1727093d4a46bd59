// `moescope import`: routing captured by another engine (SGLang, vLLM, transformers) into a session
// file, each captured request a run marked as imported. One transaction per input file: a file
// that fails leaves nothing of itself behind, and files imported before it stay. docs/import.md.
#include <chrono>
#include <cstdio>

#include "app/verb_registry.h"
#include "core/error.h"
#include "core/tokenizer.h"
#include "sessions/default_path.h"
#include "sessions/importers/importers.h"

namespace moescope {
namespace {

struct ImportArgs {
  std::string from;
  std::string input;
  std::string model_config;
  std::string tokenizer;
  std::string tag;
  std::string db;
  std::string engine_version;
};

void run_import(const ImportArgs& args) {
  const sessions::CaptureFormat format = sessions::parse_capture_format(args.from);
  const auto files = sessions::capture_files(format, args.input);
  std::unique_ptr<Tokenizer> tokenizer;
  if (!args.tokenizer.empty()) tokenizer = load_tokenizer_file(args.tokenizer);
  const std::filesystem::path db = args.db.empty() ? sessions::default_session_path() : std::filesystem::path(args.db);
  sessions::ImportWriter writer(db, args.model_config, {.tag = args.tag, .tokenizer = tokenizer.get()});
  const auto start = std::chrono::steady_clock::now();
  for (const auto& file : files) {
    const int64_t runs_before = writer.runs_written();
    const int64_t rows_before = writer.routing_rows_written();
    try {
      sessions::import_capture_file(format, file, writer, args.engine_version);
    } catch (const InputError& e) {
      const int64_t done = writer.runs_written();
      throw InputError(std::string(e.what()) + "; nothing of this file was imported" +
                       (done > 0 ? " (" + std::to_string(done) + " runs of earlier files are in " + db.string() + ")" : ""));
    }
    std::fprintf(stderr, "imported %s: %lld runs, %lld routing rows\n", file.c_str(),
                 static_cast<long long>(writer.runs_written() - runs_before),
                 static_cast<long long>(writer.routing_rows_written() - rows_before));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "imported %lld runs (%lld routing rows) from %zu file%s into %s in %.2f s\n",
               static_cast<long long>(writer.runs_written()), static_cast<long long>(writer.routing_rows_written()),
               files.size(), files.size() == 1 ? "" : "s", db.c_str(), seconds);
}

void add_import(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand("import", "Import routing captured by SGLang, vLLM or transformers as runs");
  cmd->add_option("--from", args->from, "Capture format: sglang, sglang-dump, vllm or hf")->required();
  cmd->add_option("input", args->input, "A capture file, or a folder of them")->required();
  cmd->add_option("--model-config", args->model_config, "The captured model's config.json")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer.json or tokenizer.model, for token text");
  cmd->add_option("--tag", args->tag, "Tag for every imported run (compare --tags)");
  cmd->add_option("--db", args->db, "Session file (default: the user's session file)");
  cmd->add_option("--engine-version", args->engine_version, "The capturing engine's version, when the capture does not say");
  cmd->callback([args] { run_import(*args); });
}

}  // namespace

MOESCOPE_REGISTER_VERB(import, add_import);

}  // namespace moescope

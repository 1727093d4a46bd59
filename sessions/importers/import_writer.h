// Writes imported requests into a session file as runs, through the recorder's own RunWriter (so
// imported runs have exactly the rows, hits and checks of recorded ones), one SQLite transaction
// per imported file: a file that fails half way leaves nothing behind. Each run also gets an
// `imported_runs` row naming the engine, the file and which fields were and were not captured.
//
//   ImportWriter writer(db, config_json, {.tag = "code"});
//   writer.begin_file(path, {.engine = "sglang"});
//   for (each request read from the file) writer.write(request);   // streamed: one in memory
//   writer.commit_file();
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/model_config.h"
#include "sessions/importers/captured_request.h"
#include "sessions/sql.h"

namespace moescope {
class Tokenizer;
}

namespace moescope::sessions {

struct RunStatements;

struct ImportOptions {
  std::string tag;
  const Tokenizer* tokenizer = nullptr;  // for token display text; none: display text stays empty
};

class ImportWriter {
 public:
  // `config_json` is the model's config.json: dimensions, MoE layer indexes and routing rule.
  ImportWriter(const std::filesystem::path& db, const std::filesystem::path& config_json, ImportOptions options);
  ~ImportWriter();
  ImportWriter(const ImportWriter&) = delete;
  ImportWriter& operator=(const ImportWriter&) = delete;

  const ModelConfig& config() const { return config_; }
  const std::filesystem::path& config_path() const { return config_path_; }
  const std::vector<int32_t>& moe_layers() const { return moe_layers_; }

  void begin_file(const std::filesystem::path& file, const CaptureSource& source);
  // Checks the request against the config (InputError naming the request and field) and writes it
  // as one run inside the file's transaction. Returns the run id.
  int64_t write(const CapturedRequest& request);
  void commit_file();  // without it, the file's runs roll back when the next begins or on destruction

  int64_t runs_written() const { return runs_written_; }
  int64_t routing_rows_written() const { return routing_rows_written_; }

 private:
  void check(const CapturedRequest& request) const;

  std::filesystem::path config_path_;
  ModelConfig config_;
  std::vector<int32_t> moe_layers_;
  ImportOptions options_;
  Connection connection_;
  std::unique_ptr<RunStatements> run_statements_;  // shared by every run this writer writes
  int64_t session_id_ = 0;
  int64_t model_id_ = 0;
  std::unique_ptr<Transaction> file_transaction_;
  std::filesystem::path file_;
  CaptureSource source_;
  Statement insert_import_;
  bool session_committed_ = false;
  int64_t file_runs_ = 0;
  int64_t file_rows_ = 0;
  int64_t runs_written_ = 0;  // committed
  int64_t routing_rows_written_ = 0;
};

}  // namespace moescope::sessions

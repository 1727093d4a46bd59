// Writes the generated part of the fuzz seed corpora from the golden fixtures (tools/fuzz.sh runs
// it; the hand-written seeds are in tests/fuzz/seeds/):
//   fuzz_safetensors_header/   each golden checkpoint's 1-D tensors re-written as a small file
//   fuzz_model_config/         each golden config.json
//   fuzz_sentencepiece_model/  mixtral-tiny's tokenizer.model
//   fuzz_tokenizer_json/       the real Mistral and DeepSeek-V3 tokenizer.json cut to their first
//                              600 ids (and the merges among them), with and without a text after NUL
//   fuzz_session_reader/       a session file with two short synthetic runs from the real recorder
// Usage: fuzz_make_seeds GOLDEN_DIR OUT_DIR
#include <sqlite3.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/safetensors.h"
#include "tests/sessions/synthetic_run.h"

namespace {

namespace fs = std::filesystem;
using namespace moescope;

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void safetensors_seed(const fs::path& checkpoint, const fs::path& out) {
  auto file = open_safetensors(checkpoint);
  std::vector<OutputTensor> small;
  for (size_t i = 0; i < file->header.tensors.size() && small.size() < 12; ++i) {
    const auto view = file->view(i);
    if (view.shape().size() != 1 || view.nbytes() > 512) continue;
    OutputTensor t{view.name(), view.dtype(), view.shape(), {}};
    t.bytes.assign(view.data, view.data + view.nbytes());
    small.push_back(std::move(t));
  }
  write_safetensors(out, small);
}

// The first `keep` ids of a BPE tokenizer.json, with only the merges whose parts and result are kept.
std::string cut_tokenizer_json(const fs::path& path, int64_t keep) {
  auto json = nlohmann::json::parse(read_text(path));
  auto& model = json["model"];
  nlohmann::json vocab = nlohmann::json::object();
  std::set<std::string> kept;
  for (auto& [piece, id] : model["vocab"].items())
    if (id.get<int64_t>() < keep) {
      vocab[piece] = id;
      kept.insert(piece);
    }
  model["vocab"] = vocab;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& merge : model["merges"]) {
    std::string a, b;
    if (merge.is_string()) {
      const auto text = merge.get<std::string>();
      const auto space = text.find(' ');
      a = text.substr(0, space);
      b = text.substr(space + 1);
    } else {
      a = merge[0].get<std::string>();
      b = merge[1].get<std::string>();
    }
    if (kept.count(a) && kept.count(b) && kept.count(a + b)) merges.push_back(merge);
  }
  model["merges"] = merges;
  nlohmann::json added = nlohmann::json::array();
  for (const auto& token : json["added_tokens"])
    if (token["id"].get<int64_t>() < keep) added.push_back(token);
  json["added_tokens"] = added;
  return json.dump();
}

void copy_text(const fs::path& from, const fs::path& to) { write_text(to, read_text(from)); }

void session_seed(const fs::path& out) {
  fs::remove(out);
  {
    sessions::SessionWriter writer(out, "fuzz-seed");
    const int64_t model_id = writer.add_model(test::synthetic_model());
    test::record_synthetic_run(writer, model_id, {.prompt_tokens = 3, .decode_steps = 2, .ep_ranks = 2, .seed = 1, .offload_slots = 2}, "code");
    test::record_synthetic_run(writer, model_id, {.prompt_tokens = 2, .decode_steps = 1, .ep_ranks = 0, .seed = 2}, "verse");
    writer.flush();
  }
  // 512-byte pages and no WAL: the same content in ~20x fewer bytes for the fuzzer to mutate.
  sqlite3* db = nullptr;
  if (sqlite3_open(out.c_str(), &db) != SQLITE_OK ||
      sqlite3_exec(db, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;", nullptr, nullptr, nullptr) != SQLITE_OK)
    throw std::runtime_error(out.string() + ": cannot shrink the seed: " + sqlite3_errmsg(db));
  sqlite3_close(db);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_seeds GOLDEN_DIR OUT_DIR\n");
    return 2;
  }
  const fs::path golden = argv[1], out = argv[2];
  try {
    for (const char* target : {"fuzz_safetensors_header", "fuzz_model_config", "fuzz_sentencepiece_model", "fuzz_tokenizer_json",
                               "fuzz_session_reader"})
      fs::create_directories(out / target);
    for (const auto& entry : fs::directory_iterator(golden / "models")) {
      const auto name = entry.path().filename().string();
      safetensors_seed(entry.path() / "model.safetensors", out / "fuzz_safetensors_header" / (name + ".safetensors"));
      copy_text(entry.path() / "config.json", out / "fuzz_model_config" / (name + ".json"));
    }
    // The four golden tokenizer.model files come from one trainer: one of them is enough (at 245 KB
    // it is slow to mutate; the small hand-made models in tests/fuzz/seeds/ do most of the work).
    copy_text(golden / "models" / "mixtral-tiny" / "tokenizer.model", out / "fuzz_sentencepiece_model" / "mixtral-tiny.model");
    for (const char* name : {"mistral-v0.1", "deepseek-v3"}) {
      const auto cut = cut_tokenizer_json(golden / "tokenizers" / name / "tokenizer.json", 600);
      write_text(out / "fuzz_tokenizer_json" / (std::string(name) + ".json"), cut);
      write_text(out / "fuzz_tokenizer_json" / (std::string(name) + "-text.json"),
                 cut + std::string(1, '\0') + "Hello world 123, ünïcödé 日本 🙂\n\tdef f(): return 42");
    }
    session_seed(out / "fuzz_session_reader" / "two-runs.db");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}

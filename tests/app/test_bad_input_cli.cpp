// Focus: bad checkpoints and configs given to the moescope binary end with exit code != 0 and one
// clear line on stderr naming the file or value, never a crash (the sanitizer build runs these too).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/support/cli_checks.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

// A copy of the golden Mixtral checkpoint that a case then damages.
fs::path copy_golden(const std::string& label) { return test::copy_golden_checkpoint("mixtral-tiny", "bad-" + label); }

std::vector<char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Rewrites model.safetensors, letting `edit` change the header JSON (data bytes kept as they are).
void edit_header(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto bytes = read_bytes(dir / "model.safetensors");
  uint64_t len = 0;
  std::memcpy(&len, bytes.data(), 8);
  auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(len));
  edit(header);
  std::string text = header.dump();
  std::vector<char> out(8);
  uint64_t new_len = text.size();
  std::memcpy(out.data(), &new_len, 8);
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), bytes.begin() + 8 + static_cast<long>(len), bytes.end());
  write_bytes(dir / "model.safetensors", out);
}

test::CommandResult forward(const fs::path& dir) {
  return test::run_command(test::moescope_binary().string() + " forward --model " + dir.string() +
                           " --token-ids 1,2,3 --out " + (dir / "out.safetensors").string());
}

using test::expect_one_clear_line;

TEST(BadInputCli, GoldenCheckpointRunsCleanly) {
  auto dir = copy_golden("clean");
  auto o = forward(dir);
  EXPECT_EQ(o.exit_code, 0) << o.output;
}

TEST(BadInputCli, Case1_TruncatedFile) {
  auto dir = copy_golden("truncated");
  auto bytes = read_bytes(dir / "model.safetensors");
  bytes.resize(bytes.size() / 2);
  write_bytes(dir / "model.safetensors", bytes);
  expect_one_clear_line(forward(dir), "model.safetensors: tensor '");
}

TEST(BadInputCli, Case2_HeaderLengthBeyondFile) {
  auto dir = copy_golden("header-len");
  auto bytes = read_bytes(dir / "model.safetensors");
  uint64_t len = bytes.size() * 4;
  std::memcpy(bytes.data(), &len, 8);
  write_bytes(dir / "model.safetensors", bytes);
  expect_one_clear_line(forward(dir), "runs past the end of the file");
}

TEST(BadInputCli, Case3_OverlappingOffsets) {
  auto dir = copy_golden("overlap");
  edit_header(dir, [](nlohmann::json& h) {
    auto& t = h["model.norm.weight"];
    int64_t begin = t["data_offsets"][0].get<int64_t>();
    t["data_offsets"] = {begin - 2, begin - 2 + 128};
  });
  expect_one_clear_line(forward(dir), "model.safetensors:");
}

TEST(BadInputCli, Case4_ShapeSizeMismatch) {
  auto dir = copy_golden("shape-size");
  edit_header(dir, [](nlohmann::json& h) { h["model.norm.weight"]["shape"] = {65}; });
  expect_one_clear_line(forward(dir), "tensor 'model.norm.weight' has shape x dtype size = 130 bytes");
}

TEST(BadInputCli, Case5_WrongShapeForTheArchitecture) {
  auto dir = copy_golden("arch-shape");
  edit_header(dir, [](nlohmann::json& h) { h["model.norm.weight"]["shape"] = {8, 8}; });
  expect_one_clear_line(forward(dir), "tensor 'model.norm.weight' has shape [8, 8], expected [64]");
}

TEST(BadInputCli, Case6_MissingTensor) {
  auto dir = copy_golden("missing");
  auto file = open_safetensors(dir / "model.safetensors");
  std::vector<OutputTensor> kept;
  for (size_t i = 0; i < file->header.tensors.size(); ++i) {
    auto view = file->view(i);
    if (view.name() == "model.layers.1.block_sparse_moe.experts.3.w2.weight") continue;
    OutputTensor t{view.name(), view.dtype(), view.shape(), {}};
    t.bytes.assign(view.data, view.data + view.nbytes());
    kept.push_back(std::move(t));
  }
  file.reset();
  write_safetensors(dir / "model.safetensors", kept);
  expect_one_clear_line(forward(dir), "missing tensor 'model.layers.1.block_sparse_moe.experts.3.w2.weight'");
}

TEST(BadInputCli, Case7_UnknownDtype) {
  auto dir = copy_golden("dtype");
  edit_header(dir, [](nlohmann::json& h) { h["model.norm.weight"]["dtype"] = "F4"; });
  expect_one_clear_line(forward(dir), "unsupported dtype 'F4'");
}

TEST(BadInputCli, Case8_UnknownModelType) {
  auto dir = copy_golden("model-type");
  std::ifstream in(dir / "config.json");
  auto config = nlohmann::json::parse(in);
  in.close();
  config["model_type"] = "gpt2";
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  expect_one_clear_line(forward(dir), "unknown model_type \"gpt2\" (supported: deepseek, deepseek_v2, deepseek_v3, mixtral, qwen3_moe)");
}

TEST(BadInputCli, Case9_MissingTokenizer) {
  auto dir = copy_golden("no-tokenizer");
  fs::remove(dir / "tokenizer.model");
  auto r = test::run_command(test::moescope_binary().string() + " run --no-record --model " + dir.string() +
                             " --prompt hello");
  expect_one_clear_line({r.exit_code, r.output}, dir.string());
}

TEST(BadInputCli, Case10_PromptLongerThanContext) {
  auto dir = copy_golden("long-prompt");
  std::ifstream in(dir / "config.json");
  auto config = nlohmann::json::parse(in);
  in.close();
  config["max_position_embeddings"] = 8;
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  auto r = test::run_command(test::moescope_binary().string() + " forward --model " + dir.string() +
                             " --token-ids 1,2,3,4,5,6,7,8,9,10 --out " + (dir / "o.safetensors").string());
  expect_one_clear_line({r.exit_code, r.output}, "exceeds the engine's capacity of 8");
}

TEST(BadInputCli, Case11_TokenIdOutsideVocabulary) {
  auto dir = copy_golden("token-id");
  auto r = test::run_command(test::moescope_binary().string() + " forward --model " + dir.string() +
                             " --token-ids 1,99999 --out " + (dir / "o.safetensors").string());
  expect_one_clear_line({r.exit_code, r.output}, "token id 99999 is outside the vocabulary [0, 512)");
}

TEST(BadInputCli, Case12_PickleOnlyFolder) {
  auto dir = test::scratch_dir("bad-pickle");
  fs::copy_file(test::golden_model("mixtral-tiny") / "config.json", dir / "config.json");
  std::ofstream(dir / "pytorch_model.bin") << "not really a pickle";
  expect_one_clear_line(forward(dir), "pickle checkpoints (*.bin, *.pt) are refused");
}

}  // namespace
}  // namespace moescope

// Focus: `moescope tokenize` as a user runs it: text on stdin, --tokenizer FILE or --model DIR,
// --special, --json; ids identical to the golden lists; bad input ends with one line and exit != 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/test_paths.h"

namespace moescope {
namespace {

// Runs the binary with `args`, feeding `text` on stdin from a file (exact bytes, no shell quoting).
test::CommandResult run_tokenize(const std::string& text, const std::string& args) {
  const auto dir = test::scratch_dir("verb-tokenize");
  std::ofstream(dir / "stdin.txt", std::ios::binary) << text;
  return test::run_command(test::moescope_binary().string() + " tokenize " + args + " < " +
                           (dir / "stdin.txt").string());
}

std::string golden_tokenizer(const std::string& name) {
  return (test::golden_dir() / "tokenizers" / name / "tokenizer.json").string();
}

// 1. --json prints exactly the golden id lists, with and without --special.
TEST(VerbTokenize, JsonIdsMatchGolden) {
  std::ifstream in(test::golden_dir() / "tokenizers" / "expected.json");
  const auto expected = nlohmann::json::parse(in);
  for (const std::string name : {"mistral-v0.1", "deepseek-v3"}) {
    const auto& c = expected.at(name).at(2);  // the Python function: newlines and indentation
    const auto plain = run_tokenize(c.at("text"), "--tokenizer " + golden_tokenizer(name) + " --json");
    ASSERT_EQ(plain.exit_code, 0) << plain.output;
    EXPECT_EQ(nlohmann::json::parse(plain.output), c.at("ids")) << name;
    const auto special =
        run_tokenize(c.at("text"), "--tokenizer " + golden_tokenizer(name) + " --json --special");
    ASSERT_EQ(special.exit_code, 0) << special.output;
    EXPECT_EQ(nlohmann::json::parse(special.output), c.at("ids_with_special")) << name;
  }
}

// 2. Without --json: one "id<TAB>display text" line per token.
TEST(VerbTokenize, LinesShowIdAndDisplayText) {
  const auto result =
      run_tokenize("Hello world\n", "--tokenizer " + golden_tokenizer("mistral-v0.1") + " --special");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "1\t<s>\n22557\t␣Hello\n1526\t␣world\n13\t\\n\n");
}

// 3. --model DIR uses the folder's tokenizer.model; --special adds its BOS (the config's id).
TEST(VerbTokenize, ModelFolderUsesItsTokenizer) {
  const auto result = run_tokenize(
      "Hello", "--model " + test::golden_model("deepseek-v2-lite-tiny").string() + " --special --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto ids = nlohmann::json::parse(result.output);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.at(0), 160);
}

// 4. Bad input: folder without tokenizer, neither option, both options, text that is not UTF-8.
TEST(VerbTokenize, BadInputFailsWithOneLine) {
  const auto empty_dir = test::scratch_dir("verb-tokenize-empty");
  const auto missing = run_tokenize("x", "--model " + empty_dir.string());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("looked for tokenizer.model and tokenizer.json"), std::string::npos)
      << missing.output;
  EXPECT_EQ(std::count(missing.output.begin(), missing.output.end(), '\n'), 1) << missing.output;

  EXPECT_NE(run_tokenize("x", "").exit_code, 0);
  EXPECT_NE(run_tokenize("x", "--model a --tokenizer b").exit_code, 0);
  const auto invalid = run_tokenize("\xFF", "--tokenizer " + golden_tokenizer("deepseek-v3"));
  EXPECT_NE(invalid.exit_code, 0);
  EXPECT_NE(invalid.output.find("not valid UTF-8"), std::string::npos) << invalid.output;
}

}  // namespace
}  // namespace moescope

// Focus: the regex searches made for one text share one backtracking budget. Oniguruma's retry
// limits hold per search call, and a pre-tokenizer makes one call per match, so a Split pattern
// that backtracks ~100,000 steps at every position ran for minutes on 10 KB while no single call
// hit its limit. The budget bounds the whole text; ordinary tokenizer patterns use a small part.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tokenizer.h"
#include "core/tokenizer/onig_regex.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

// Each search from an 'a' explores up to 2^16 ways to split the run before falling back to "a".
constexpr const char* kBacktrackingPattern = "(a|aa){1,16}b|a";

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(RegexBudget, Case1_SearchesOfOneTextShareTheBudget) {
  const CompiledRegex letter("a", "test pattern");
  const RegexWorkBudget budget(0);  // the base budget alone
  ASSERT_EQ(RegexWorkBudget::current(), &budget);
  const uint64_t before = budget.remaining();
  EXPECT_EQ(letter.find_all("aaaa").size(), 4u);
  const uint64_t used = before - budget.remaining();
  EXPECT_GT(used, 0u);
  // The same text again costs the same again: nothing is handed back between calls.
  letter.find_all("aaaa");
  EXPECT_EQ(before - budget.remaining(), 2 * used);
  // Enough calls run it out, though each alone is cheap.
  std::string message;
  try {
    for (int i = 0; i < 1'000'000; ++i) letter.find_all("aaaa");
  } catch (const InputError& e) {
    message = e.what();
  }
  EXPECT_NE(
      message.find("test pattern: the regex backtracked more than the 100000 steps allowed for this text"),
      std::string::npos)
      << message;
}

TEST(RegexBudget, Case2_InnerScopeSharesTheOuterBudget) {
  const RegexWorkBudget outer(10);
  {
    const RegexWorkBudget inner(1'000'000);
    EXPECT_EQ(RegexWorkBudget::current(), &outer);
    EXPECT_EQ(inner.total(), outer.total());
  }
  EXPECT_EQ(RegexWorkBudget::current(), &outer);
}

TEST(RegexBudget, Case3_BacktrackingPatternOn10KBStopsQuickly) {
  const CompiledRegex pattern(kBacktrackingPattern, "tokenizer.json: pre_tokenizer");
  const std::string text(10'000, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(pattern.find_all(text), InputError);
  // Unbounded, this took minutes; the budget (740,000 steps) stops it well within a second on a
  // quiet machine. 30 s leaves room for sanitizer builds on a loaded one.
  EXPECT_LT(seconds_since(start), 30.0);
  EXPECT_EQ(RegexWorkBudget::current(), nullptr);  // the call's own budget closed with it
}

TEST(RegexBudget, Case4_OrdinaryPatternsUseASmallPartOfTheBudget) {
  // DeepSeek-V3's and GPT-2's word patterns over 100 KB of mixed text (code, prose, numbers, CJK,
  // runs of spaces).
  const std::vector<std::string> patterns = {
      R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", R"(\p{N}{1,3})"};
  std::string text;
  while (text.size() < 100'000)
    text +=
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)  # 12345\n"
        "The quick brown fox jumps over the lazy dog. 日本語のテキスト、もう少し。" +
        std::string(200, ' ') + "x\n\n";
  for (const std::string& source : patterns) {
    const CompiledRegex pattern(source, "pattern");
    const RegexWorkBudget budget(text.size());
    EXPECT_FALSE(pattern.find_all(text).empty());
    EXPECT_LT(budget.total() - budget.remaining(), budget.total() / 4) << source;
  }
}

TEST(RegexBudget, Case5_TokenizerJsonWithBacktrackingSplitIsRefusedNamingIt) {
  const auto dir = test::scratch_dir("regex-budget-tokenizer");
  const nlohmann::json file = {
      {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}}}, {"merges", nlohmann::json::array()}}},
      {"pre_tokenizer",
       {{"type", "Split"},
        {"pattern", {{"Regex", kBacktrackingPattern}}},
        {"behavior", "Isolated"},
        {"invert", false}}}};
  std::ofstream(dir / "tokenizer.json") << file.dump();
  const auto tokenizer = load_tokenizer_file(dir / "tokenizer.json");
  EXPECT_EQ(tokenizer->encode("aab", false).size(), 3u);  // short text: fine
  const auto start = std::chrono::steady_clock::now();
  std::string message;
  try {
    tokenizer->encode(std::string(10'000, 'a'), false);
  } catch (const InputError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find((dir / "tokenizer.json").string() + ": pre_tokenizer"), std::string::npos)
      << message;
  EXPECT_NE(message.find("backtracked more than"), std::string::npos) << message;
  EXPECT_LT(seconds_since(start), 30.0);
}

}  // namespace
}  // namespace moescope

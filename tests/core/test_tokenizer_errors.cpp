// Focus: bad tokenizer input gives an InputError whose message names the file (or folder) and
// what was expected, never a crash: malformed JSON, unsupported components, broken vocabularies,
// bad regexes, missing files, invalid text, and randomly mutated files.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "core/tokenizer.h"
#include "tests/support/test_paths.h"

namespace moescope {
namespace {

using json = nlohmann::json;

// A small tokenizer.json using every component kind we implement.
json full_file() {
  return json::parse(R"({
    "version": "1.0",
    "added_tokens": [{"id": 0, "content": "<s>", "special": true, "normalized": false,
                      "lstrip": false, "rstrip": false, "single_word": false}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"},
                   {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false},
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
        {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
    "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false, "byte_fallback": false,
              "vocab": {"<s>": 0, "a": 1, "b": 2, "Ġ": 3, "ab": 4, "Ġa": 5, "1": 6, "2": 7, "12": 8},
              "merges": ["a b", "Ġ a", "1 2"]}
  })");
}

std::filesystem::path write_file(const std::string& label, const std::string& bytes,
                                 const char* name = "tokenizer.json") {
  const auto dir = test::scratch_dir("tokenizer-err-" + label);
  std::ofstream(dir / name, std::ios::binary) << bytes;
  return dir / name;
}

// Loads `bytes` as a tokenizer.json and returns the InputError message ("" when it loaded).
std::string load_error(const std::string& label, const std::string& bytes) {
  const auto file = write_file(label, bytes);
  try {
    load_tokenizer_file(file);
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file.string()), std::string::npos)
        << "message does not name the file: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
    return message;
  }
  return "";
}

void expect_error(const std::string& label, const json& file, const std::string& expected_part) {
  const std::string message = load_error(label, file.dump());
  EXPECT_NE(message.find(expected_part), std::string::npos) << label << ": " << message;
}

// 1. The reference file itself loads and works (the cases below each break one thing of it).
TEST(TokenizerErrors, ReferenceFileLoads) {
  const auto tokenizer = load_tokenizer_file(write_file("reference", full_file().dump()));
  EXPECT_EQ(tokenizer->encode("ab 12", true), (std::vector<int32_t>{0, 4, 3, 8}));
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("ab 12", false)), "ab 12");
}

// 2. Not JSON, truncated JSON, the wrong top-level type.
TEST(TokenizerErrors, MalformedJson) {
  EXPECT_NE(load_error("garbage", "this is not json").find("not valid JSON"), std::string::npos);
  const std::string whole = full_file().dump();
  EXPECT_NE(load_error("truncated", whole.substr(0, whole.size() / 2)).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(load_error("array", "[1, 2]").find("JSON object"), std::string::npos);
  EXPECT_NE(load_error("nomodel", "{}").find("\"model\""), std::string::npos);
}

// 3. Model types other than BPE are refused by name.
TEST(TokenizerErrors, UnsupportedModelTypes) {
  for (const char* type : {"WordPiece", "Unigram", "WordLevel"}) {
    json file = full_file();
    file["model"]["type"] = type;
    expect_error(std::string("model-") + type, file,
                 std::string("unsupported tokenizer model type '") + type + "'");
  }
}

// 4. Unsupported components are named with the supported alternatives.
TEST(TokenizerErrors, UnsupportedComponents) {
  json file = full_file();
  file["normalizer"] = {{"type", "BertNormalizer"}};
  expect_error("normalizer", file, "unsupported normalizer type 'BertNormalizer'");
  file = full_file();
  file["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error("pretokenizer", file, "unsupported pre-tokenizer type 'Whitespace'");
  file = full_file();
  file["decoder"] = {{"type", "WordPiece"}};
  expect_error("decoder", file, "unsupported decoder type 'WordPiece'");
  file = full_file();
  file["post_processor"] = {{"type", "Magic"}};
  expect_error("postprocessor", file, "unsupported post-processor type 'Magic'");
  file = full_file();
  file["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
  expect_error("behavior", file, "unknown split behavior 'Sideways'");
}

// 5. Broken vocabularies and merges.
TEST(TokenizerErrors, BrokenVocabularyAndMerges) {
  json file = full_file();
  file["model"]["vocab"]["a"] = -1;
  expect_error("negative-id", file, "vocabulary id of 'a'");
  file = full_file();
  file["model"]["vocab"]["a"] = 2147483647;
  expect_error("huge-id", file, "vocabulary id of 'a'");
  file = full_file();
  file["model"]["vocab"]["a"] = "one";
  expect_error("string-id", file, "vocabulary id of 'a'");
  file = full_file();
  file["model"]["merges"].push_back("a b c");
  expect_error("three-part-merge", file, "two tokens separated by one space");
  file = full_file();
  file["model"]["merges"].push_back("b a");
  expect_error("merge-result", file, "merge result 'ba'");
  file = full_file();
  file["model"]["vocab"] = json::array();
  expect_error("vocab-array", file, "model.vocab must be an object");
  file = full_file();
  file["model"]["dropout"] = 0.1;
  expect_error("dropout", file, "dropout");
}

// 6. Regexes that do not compile; nesting beyond the bound; template naming an undefined token.
TEST(TokenizerErrors, BadPatternsNestingAndTemplates) {
  json file = full_file();
  file["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "(unclosed"}};
  expect_error("regex", file, "bad regex pattern '(unclosed'");
  file = full_file();
  json nested = {{"type", "NFC"}};
  for (int i = 0; i < 20; ++i) nested = {{"type", "Sequence"}, {"normalizers", {nested}}};
  file["normalizer"] = nested;
  expect_error("nesting", file, "nested too deeply");
  file = full_file();
  file["post_processor"]["single"][0]["SpecialToken"]["id"] = "<cls>";
  expect_error("template", file, "'<cls>'");
  // A template id past the vocabulary (ids 0..8) is refused at load, alone and inside a Sequence of
  // post-processors (a fuzzing finding: encode returned it).
  file = full_file();
  file["post_processor"]["special_tokens"]["<s>"]["ids"] = {91};
  expect_error("template-id", file, "post_processor inserts special token id 91, outside the vocabulary (ids 0..8)");
  file["post_processor"] = {{"type", "Sequence"}, {"processors", {{{"type", "ByteLevel"}}, file["post_processor"]}}};
  expect_error("template-id-sequence", file, "special token id 91, outside the vocabulary");
  file["post_processor"] = {{"type", "BertProcessing"}, {"cls", {"<s>", 0}}, {"sep", {"</s>", 9}}};
  expect_error("cls-sep-id", file, "special token id 9, outside the vocabulary (ids 0..8)");
  file = full_file();
  file["added_tokens"][0]["content"] = 7;
  expect_error("added-content", file, "added_tokens[0].content must be a string");
}

// 7. Files and folders: missing, wrong extension, not a SentencePiece model, no tokenizer in a
//    folder (the message names the folder and both file names looked for).
TEST(TokenizerErrors, MissingAndWrongFiles) {
  const auto dir = test::scratch_dir("tokenizer-err-files");
  try {
    load_tokenizer_for_model(dir);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dir.string()), std::string::npos) << message;
    EXPECT_NE(message.find("tokenizer.model"), std::string::npos) << message;
    EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;
  }
  EXPECT_THROW(load_tokenizer_for_model(dir / "absent"), InputError);
  EXPECT_THROW(load_tokenizer_file(dir / "absent.json"), InputError);
  EXPECT_THROW(load_tokenizer_file(write_file("txt", "hello", "vocab.txt")), InputError);
  try {
    load_tokenizer_file(write_file("spm", "definitely not a protobuf \xFF\xFE", "tokenizer.model"));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
  }
}

// 8. Text that is not UTF-8 is an InputError; ids without a token are left out of decoded text
//    (as `tokenizers` does) and shown as unknown.
TEST(TokenizerErrors, InvalidTextAndIds) {
  const auto tokenizer = load_tokenizer_file(write_file("text", full_file().dump()));
  EXPECT_THROW(tokenizer->encode("ab\xFF", false), InputError);
  EXPECT_EQ(tokenizer->decode(std::vector<int32_t>{1, 9, -4, 2}), "ab");
  EXPECT_EQ(tokenizer->display_text(-3), "<unknown id -3>");
  EXPECT_EQ(tokenizer->piece(1000000), "");
}

// 9. Randomly mutated files (bytes flipped, dropped, duplicated; truncation) either load or give
//    an InputError; what loads encodes and decodes arbitrary text without any other failure.
TEST(TokenizerErrors, MutatedFilesNeverCrash) {
  const std::string original = full_file().dump();
  std::mt19937 random(1234);
  const std::string probes[] = {"ab 12 a", "<s>ab", "", "  \n\t", "混合 123456"};
  int loaded = 0, refused = 0;
  for (int round = 0; round < 300; ++round) {
    std::string bytes = original;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      const size_t at = random() % bytes.size();
      switch (random() % 4) {
        case 0:
          bytes[at] = static_cast<char>(random() % 256);
          break;
        case 1:
          bytes.erase(at, 1 + random() % 8);
          break;
        case 2:
          bytes.insert(at, bytes.substr(at, 1 + random() % 16));
          break;
        case 3:
          bytes.resize(at);
          break;
      }
    }
    const auto file = write_file("fuzz", bytes);
    std::unique_ptr<Tokenizer> tokenizer;
    try {
      tokenizer = load_tokenizer_file(file);
    } catch (const InputError&) {
      ++refused;
      continue;
    }
    ++loaded;
    for (const std::string& probe : probes) {
      try {
        const auto ids = tokenizer->encode(probe, true);
        tokenizer->decode(ids);
        for (int32_t id : ids) tokenizer->display_text(id);
      } catch (const InputError&) {
      }
    }
  }
  std::printf("mutated files: %d loaded, %d refused with InputError\n", loaded, refused);
  EXPECT_GT(refused, 0);
}

// Every node of a JSON tree, as pointers into it.
void collect_nodes(json& node, std::vector<json*>& out) {
  out.push_back(&node);
  if (node.is_object() || node.is_array()) {
    for (auto& child : node) collect_nodes(child, out);
  }
}

// 10. Structurally valid JSON with one or two values replaced by values of other types or
//     extreme numbers either loads or gives an InputError, and what loads works on any text.
TEST(TokenizerErrors, MistypedValuesNeverCrash) {
  const json replacements[] = {
      nullptr, -1, 0,          4194304, 2147483647,    -9223372036854775807LL, 1.5,
      true,    "", "Sequence", "\\p{",  json::array(), json::object(),         json::array({1, "x"})};
  std::mt19937 random(99);
  int loaded = 0, refused = 0;
  for (int round = 0; round < 600; ++round) {
    json file = full_file();
    for (int e = 0; e < 1 + static_cast<int>(random() % 2); ++e) {
      std::vector<json*> nodes;
      collect_nodes(file, nodes);
      *nodes[1 + random() % (nodes.size() - 1)] = replacements[random() % std::size(replacements)];
    }
    std::unique_ptr<Tokenizer> tokenizer;
    try {
      tokenizer = load_tokenizer_file(write_file("typefuzz", file.dump()));
    } catch (const InputError&) {
      ++refused;
      continue;
    }
    ++loaded;
    for (const std::string probe : {"ab 12 a", "<s>ab", "", "  \n\t", "混合 123456"}) {
      try {
        const auto ids = tokenizer->encode(probe, true);
        tokenizer->decode(ids);
        for (int32_t id : ids) tokenizer->display_text(id);
      } catch (const InputError&) {
      }
    }
  }
  std::printf("mistyped files: %d loaded, %d refused with InputError\n", loaded, refused);
  EXPECT_GT(loaded, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace moescope

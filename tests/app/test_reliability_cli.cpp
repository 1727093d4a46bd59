// Focus: the rest of the bad-input matrix through the moescope binary, each ending with exit code 1
// and one clear line, never a crash (the sanitizer build runs these too): NaN weights, an empty
// prompt, a prompt that is not UTF-8, a prompt longer than max_position_embeddings for `run`, a
// session directory the user cannot write (recording refused; reading still works), and a model
// over the GPU memory cap.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/checkpoint_edit.h"
#include "tests/support/cli_checks.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

fs::path copy_reliability_golden(const std::string& label) {
  return test::copy_golden_checkpoint("mixtral-tiny", "reliability-" + label);
}

// Single quotes for /bin/sh; the argument may hold any byte but NUL.
std::string quoted(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// `prefix` goes before the binary: a pipe feeding its stdin, or a command it runs under.
test::CommandResult moescope(const std::string& args, const std::string& prefix = "") {
  return test::run_command(prefix + test::moescope_binary().string() + " " + args);
}

using test::expect_one_clear_line;

TEST(ReliabilityCli, Case1_NaNWeightIsNamedAtLoad) {
  auto dir = copy_reliability_golden("nan");
  test::set_bf16_element(dir / "model.safetensors", "model.layers.0.self_attn.q_proj.weight", 7, 0xff80);  // -Inf
  auto o = moescope("forward --model " + dir.string() + " --token-ids 1,2,3 --out " + (dir / "o.safetensors").string());
  expect_one_clear_line(o, (dir / "model.safetensors").string() +
                               ": tensor 'model.layers.0.self_attn.q_proj.weight' holds Inf at element 7 of");
}

TEST(ReliabilityCli, Case2_EmptyPromptIsRefused) {
  auto dir = copy_reliability_golden("empty");
  expect_one_clear_line(moescope("run --no-record --model " + dir.string() + " --prompt ''"), "--prompt is empty");
}

TEST(ReliabilityCli, Case3_PromptThatIsNotUtf8IsRefused) {
  auto dir = copy_reliability_golden("utf8");
  // A lone continuation byte, a truncated two-byte sequence and an overlong encoding of '/'.
  for (const std::string& text : {std::string("abc\x80"), std::string("caf\xc3"), std::string("\xc0\xaf")}) {
    expect_one_clear_line(moescope("run --no-record --max-new-tokens 1 --model " + dir.string() + " --prompt " + quoted(text)),
                          "text to tokenize is not valid UTF-8");
    expect_one_clear_line(moescope("tokenize --model " + dir.string(), "printf '%s' " + quoted(text) + " | "),
                          "text to tokenize is not valid UTF-8");
  }
}

TEST(ReliabilityCli, Case4_RunPromptLongerThanMaxPositionEmbeddings) {
  auto dir = copy_reliability_golden("long");
  std::ifstream in(dir / "config.json");
  auto config = nlohmann::json::parse(in);
  in.close();
  config["max_position_embeddings"] = 8;
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  auto o = moescope("run --no-record --model " + dir.string() + " --prompt " +
                    quoted("one two three four five six seven eight nine ten eleven twelve"));
  expect_one_clear_line(o, "more than the model's max_position_embeddings of 8");
}

// The CUDA engine checks the cap before it touches the GPU, so a model over it gets the
// out-of-memory line on any machine whose build has the CUDA engine (CI's release build has).
TEST(ReliabilityCli, Case6_ModelOverTheGpuMemoryCapIsRefusedNamingBytes) {
  const std::string model = test::golden_model("mixtral-tiny").string();
  auto o = moescope("forward --backend cuda --gpu-memory-cap 64KiB --model " + model + " --token-ids 1,2,3 --out " +
                    (test::scratch_dir("reliability-cap") / "o.safetensors").string());
  if (o.output.find("no CUDA engine in this build") != std::string::npos)
    GTEST_SKIP() << "this build has no CUDA engine: " << o.output;
  expect_one_clear_line(o, "model does not fit on CUDA device 0: needs ");
  EXPECT_NE(o.output.find("but 65536 bytes (64.0 KiB) are free under the memory cap"), std::string::npos) << o.output;
  // The same for recording and running, which take the flag too.
  expect_one_clear_line(moescope("run --no-record --backend cuda --gpu-memory-cap 64KiB --model " + model + " --prompt hi"),
                        "are free under the memory cap");
  // A size it cannot read is a usage error, as CLI11 reports them.
  auto bad = moescope("forward --backend cuda --gpu-memory-cap lots --model " + model + " --token-ids 1 --out /dev/null");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--gpu-memory-cap: lots unit not recognized"), std::string::npos) << bad.output;
}

// As root, permissions do not apply: the binary then runs as `nobody` (setpriv), for whom a
// root-owned folder with mode 0555 is read-only just as it is for its owner without root.
std::string unprivileged_prefix() {
  if (geteuid() != 0) return "";
  return "setpriv --reuid=65534 --regid=65534 --clear-groups ";
}

TEST(ReliabilityCli, Case5_ReadOnlySessionDirectory) {
  if (geteuid() == 0 && test::run_command("setpriv --reuid=65534 --regid=65534 --clear-groups true").exit_code != 0)
    GTEST_SKIP() << "running as root without setpriv: cannot make a folder read-only for moescope";
  auto model = copy_reliability_golden("ro-model");
  auto dir = test::scratch_dir("reliability-ro-sessions");
  // A session recorded while the folder was writable, then the folder made read-only.
  auto o = moescope("run --max-new-tokens 2 --model " + model.string() + " --prompt hello --db " + (dir / "s.db").string());
  ASSERT_EQ(o.exit_code, 0) << o.output;
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  const auto prefix = unprivileged_prefix();

  // Recording into it: a new file and the existing one are both refused, naming the file.
  for (const char* name : {"new.db", "s.db"})
    expect_one_clear_line(moescope("run --max-new-tokens 2 --model " + model.string() + " --prompt hello --db " + (dir / name).string(), prefix),
                          (dir / name).string() + ": cannot write the session file (read-only file or directory)");
  // Reading it still works: a shared session on read-only media opens.
  auto report = moescope("report --db " + (dir / "s.db").string(), prefix);
  EXPECT_EQ(report.exit_code, 0) << report.output;
  EXPECT_FALSE(fs::exists(dir / "new.db"));
}

}  // namespace
}  // namespace moescope

#include "sessions/importers/importers.h"

#include <algorithm>

#include "core/error.h"

namespace moescope::sessions {
namespace {

struct FormatName {
  CaptureFormat format;
  std::string_view name;
  std::vector<std::string_view> extensions;  // of the files a folder import picks up
};

const std::vector<FormatName>& formats() {
  static const std::vector<FormatName> table = {
      {CaptureFormat::sglang, "sglang", {".jsonl", ".ndjson", ".json"}},
      {CaptureFormat::sglang_dump, "sglang-dump", {".safetensors"}},
      {CaptureFormat::vllm, "vllm", {".jsonl", ".ndjson", ".json"}},
      {CaptureFormat::hf, "hf", {".safetensors"}},
  };
  return table;
}

const FormatName& entry(CaptureFormat format) {
  return *std::find_if(formats().begin(), formats().end(), [&](const auto& f) { return f.format == format; });
}

}  // namespace

CaptureFormat parse_capture_format(std::string_view name) {
  for (const auto& format : formats())
    if (format.name == name) return format.format;
  fail_input("--from " + std::string(name) + ": unknown capture format (expected sglang, sglang-dump, vllm or hf)");
}

std::string_view capture_format_name(CaptureFormat format) { return entry(format).name; }

std::vector<std::filesystem::path> capture_files(CaptureFormat format, const std::filesystem::path& file_or_dir) {
  std::error_code error;
  if (!std::filesystem::exists(file_or_dir, error)) fail_input(file_or_dir.string() + ": no such file or folder");
  if (!std::filesystem::is_directory(file_or_dir, error)) return {file_or_dir};
  std::vector<std::filesystem::path> files;
  const auto& extensions = entry(format).extensions;
  for (const auto& item : std::filesystem::directory_iterator(file_or_dir, error)) {
    if (!item.is_regular_file(error)) continue;
    const std::string extension = item.path().extension().string();
    if (std::find(extensions.begin(), extensions.end(), extension) != extensions.end()) files.push_back(item.path());
  }
  if (error) fail_input(file_or_dir.string() + ": cannot list the folder (" + error.message() + ")");
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::string names;
    for (auto extension : extensions) names += (names.empty() ? "" : ", ") + std::string(extension);
    fail_input(file_or_dir.string() + ": no " + names + " files of format " + std::string(entry(format).name));
  }
  return files;
}

void import_capture_file(CaptureFormat format, const std::filesystem::path& file, ImportWriter& writer,
                         const std::string& engine_version) {
  CaptureSource source{std::string(capture_format_name(format)), engine_version};
  switch (format) {
    case CaptureFormat::hf:
      import_hf_file(file, writer, source);
      break;
    case CaptureFormat::sglang:
      import_sglang_file(file, writer, source);
      break;
    case CaptureFormat::vllm:
      import_vllm_file(file, writer, source);
      break;
    case CaptureFormat::sglang_dump:
      import_sglang_dump_file(file, writer, source);
      break;
  }
}

}  // namespace moescope::sessions

// `moescope import`: the capture formats and the one entry point per file. Each format lives in
// its own file here (hf_import.cpp, sglang_import.cpp, vllm_import.cpp, sglang_dump_import.cpp);
// docs/import.md describes each format, the engine versions it was read from and how to capture.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "sessions/importers/import_writer.h"

namespace moescope::sessions {

enum class CaptureFormat { sglang, sglang_dump, vllm, hf };

CaptureFormat parse_capture_format(std::string_view name);  // InputError listing the formats
std::string_view capture_format_name(CaptureFormat format);

// FILE_OR_DIR as given: the file itself, or the folder's files of the format (by extension), in
// name order. InputError when there are none.
std::vector<std::filesystem::path> capture_files(CaptureFormat format, const std::filesystem::path& file_or_dir);

// Imports every request of one file as runs, in one transaction (begin_file .. commit_file).
void import_capture_file(CaptureFormat format, const std::filesystem::path& file, ImportWriter& writer,
                         const std::string& engine_version);

// One function per format (its own file).
void import_hf_file(const std::filesystem::path& file, ImportWriter& writer, const CaptureSource& source);
void import_sglang_file(const std::filesystem::path& file, ImportWriter& writer, const CaptureSource& source);
void import_vllm_file(const std::filesystem::path& file, ImportWriter& writer, const CaptureSource& source);
void import_sglang_dump_file(const std::filesystem::path& file, ImportWriter& writer, const CaptureSource& source);

}  // namespace moescope::sessions

// SGLang's `--enable-return-routed-experts` (its PR 12162): each /generate response carries
// meta_info.routed_experts, the base64 of an int32 array [prompt + completion - 1, num_hidden_layers,
// num_experts_per_tok] (detokenizer_manager's _extract_routed_experts; the layout is
// routed_experts_capturer.py's host buffer, sliced to the request's tokens but the last). A
// capture file holds the responses as the client received them, one per line (docs/import.md).
#include "core/error.h"
#include "sessions/importers/base64.h"
#include "sessions/importers/engine_layout.h"
#include "sessions/importers/importers.h"
#include "sessions/importers/json_records.h"

namespace moescope::sessions {

void import_sglang_file(const std::filesystem::path& file, ImportWriter& writer, const CaptureSource& source) {
  writer.begin_file(file, source);
  int64_t index = 0;
  for_each_json_record(file, [&](const nlohmann::json& record, const std::string& label) {
    CapturedRequest request;
    auto meta = record.find("meta_info");
    if (meta == record.end() || !meta->is_object()) fail_input(label + ": field 'meta_info' is missing");
    request.request_id = json_text(*meta, "id", label);
    if (request.request_id.empty()) request.request_id = "#" + std::to_string(index);
    const std::string where = label + " (request " + request.request_id + ")";
    request.prompt_text = json_text(record, "prompt", where);
    request.output_text = json_text(record, "text", where);
    request.prompt_ids = json_int32_list(record, "input_ids", where, false);
    request.output_ids = json_int32_list(record, "output_ids", where, false);
    const int64_t prompt_tokens = json_count(*meta, "prompt_tokens", where);
    const int64_t completion_tokens = json_count(*meta, "completion_tokens", where);
    request.n_prompt_tokens = prompt_tokens >= 0 ? prompt_tokens : static_cast<int64_t>(request.prompt_ids.size());
    request.n_generated_tokens =
        completion_tokens >= 0 ? completion_tokens : static_cast<int64_t>(request.output_ids.size());

    auto routed = meta->find("routed_experts");
    if (routed == meta->end() || routed->is_null())
      fail_input(where + ": meta_info.routed_experts is missing (was the server started with "
                         "--enable-return-routed-experts and the request sent with return_routed_experts?)");
    if (!routed->is_string()) fail_input(where + ": meta_info.routed_experts is not a base64 string");
    const std::string field = where + ", meta_info.routed_experts";
    std::vector<int32_t> values = decode_base64_int32(routed->get_ref<const std::string&>(), field);
    const int64_t n_positions =
        engine_layout_positions(static_cast<int64_t>(values.size()), writer.config(), field);
    if (prompt_tokens >= 0 && completion_tokens >= 0 && n_positions != prompt_tokens + completion_tokens - 1) {
      fail_input(field + ": routing for " + std::to_string(n_positions) + " tokens, expected prompt_tokens + " +
                 "completion_tokens - 1 = " + std::to_string(prompt_tokens + completion_tokens - 1) +
                 " (truncated, or a capture of a model with other layers or k)");
    }
    take_engine_layout(values, n_positions, writer.config(), field, request);
    writer.write(request);
    ++index;
  });
  if (index == 0) fail_input(file.string() + ": no requests in the capture file");
  writer.commit_file();
}

}  // namespace moescope::sessions

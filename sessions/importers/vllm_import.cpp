// vLLM's routed experts (`enable_return_routed_experts`): each CompletionOutput of a RequestOutput
// carries `routed_experts`, a numpy int32 array [seq_len, num_hidden_layers, num_experts_per_tok]
// (vllm/outputs.py; the layout is routed_experts_capturer.py's, which vLLM adapted from SGLang's),
// seq_len covering the prompt and every generated token but the last. vLLM hands it to Python, not
// to a file, so a capture is JSON Lines written by the few lines in docs/import.md: one object
// per RequestOutput with request_id, prompt, prompt_token_ids, vllm_version and outputs[], each
// output's routed_experts either {"dtype": "int32", "shape": [S, L, k], "data": base64} or nested
// lists (`.tolist()`).
#include "core/error.h"
#include "sessions/importers/base64.h"
#include "sessions/importers/engine_layout.h"
#include "sessions/importers/importers.h"
#include "sessions/importers/json_records.h"

namespace moescope::sessions {
namespace {

std::vector<int32_t> routed_experts_values(const nlohmann::json& routed, const ModelConfig& config,
                                           const std::string& field, int64_t& n_positions) {
  if (routed.is_object()) {
    const std::string dtype = json_text(routed, "dtype", field);
    if (dtype != "int32") fail_input(field + ".dtype: '" + dtype + "', expected 'int32'");
    std::vector<int32_t> shape = json_int32_list(routed, "shape", field, true);
    if (shape.size() != 3) fail_input(field + ".shape: expected [tokens, layers, top_k], got " + std::to_string(shape.size()) + " dimensions");
    if (shape[1] != config.num_layers)
      fail_input(field + ".shape: " + std::to_string(shape[1]) + " layers, the config has " +
                 std::to_string(config.num_layers) + " (num_hidden_layers)");
    if (shape[2] != config.top_k)
      fail_input(field + ".shape: top-" + std::to_string(shape[2]) + ", the config routes to " +
                 std::to_string(config.top_k) + " experts (num_experts_per_tok)");
    if (shape[0] < 1) fail_input(field + ".shape: no tokens");
    auto data = routed.find("data");
    if (data == routed.end() || !data->is_string()) fail_input(field + ".data: missing or not a base64 string");
    std::vector<int32_t> values = decode_base64_int32(data->get_ref<const std::string&>(), field + ".data");
    if (static_cast<int64_t>(values.size()) != int64_t{shape[0]} * shape[1] * shape[2])
      fail_input(field + ".data: " + std::to_string(values.size()) + " ids, the shape says " +
                 std::to_string(int64_t{shape[0]} * shape[1] * shape[2]) + " (truncated?)");
    n_positions = shape[0];
    return values;
  }
  if (!routed.is_array()) fail_input(field + ": expected nested lists or {dtype, shape, data}");
  std::vector<int32_t> values;
  n_positions = static_cast<int64_t>(routed.size());
  for (size_t t = 0; t < routed.size(); ++t) {
    const auto& layers = routed[t];
    if (!layers.is_array() || static_cast<int64_t>(layers.size()) != config.num_layers)
      fail_input(field + "[" + std::to_string(t) + "]: expected " + std::to_string(config.num_layers) +
                 " layers (num_hidden_layers), got " + (layers.is_array() ? std::to_string(layers.size()) : "no list"));
    for (size_t l = 0; l < layers.size(); ++l) {
      const auto& ids = layers[l];
      if (!ids.is_array() || static_cast<int64_t>(ids.size()) != config.top_k)
        fail_input(field + "[" + std::to_string(t) + "][" + std::to_string(l) + "]: expected top-" +
                   std::to_string(config.top_k) + " expert ids (num_experts_per_tok)");
      for (const auto& id : ids) {
        if (!id.is_number_integer()) fail_input(field + ": " + id.dump() + " is not an expert id");
        const int64_t value = id.get<int64_t>();
        if (value < 0 || value >= config.n_routed_experts)
          fail_input(field + "[" + std::to_string(t) + "][" + std::to_string(l) + "]: expert id " +
                     std::to_string(value) + " is outside the config's " + std::to_string(config.n_routed_experts) +
                     " routed experts");
        values.push_back(static_cast<int32_t>(value));
      }
    }
  }
  return values;
}

}  // namespace

void import_vllm_file(const std::filesystem::path& file, ImportWriter& writer, const CaptureSource& file_source) {
  int64_t n_requests = 0;
  bool begun = false;
  for_each_json_record(file, [&](const nlohmann::json& record, const std::string& label) {
    // The version the capture names is the file's: the first record's, stated once per file.
    if (!begun) {
      CaptureSource source = file_source;
      const std::string version = json_text(record, "vllm_version", label);
      if (source.engine_version.empty()) source.engine_version = version;
      writer.begin_file(file, source);
      begun = true;
    }
    std::string request_id = json_text(record, "request_id", label);
    if (request_id.empty()) request_id = "#" + std::to_string(n_requests);
    const std::string where = label + " (request " + request_id + ")";
    auto outputs = record.find("outputs");
    if (outputs == record.end() || !outputs->is_array() || outputs->empty())
      fail_input(where + ": field 'outputs' is missing or empty");
    const std::vector<int32_t> prompt_ids = json_int32_list(record, "prompt_token_ids", where, true);
    const std::string prompt = json_text(record, "prompt", where);
    for (size_t o = 0; o < outputs->size(); ++o) {
      const auto& output = (*outputs)[o];
      CapturedRequest request;
      request.request_id = outputs->size() == 1 ? request_id : request_id + "/" + std::to_string(o);
      const std::string out_where = where + ", outputs[" + std::to_string(o) + "]";
      if (!output.is_object()) fail_input(out_where + ": expected an object");
      request.prompt_text = prompt;
      request.prompt_ids = prompt_ids;
      request.output_text = json_text(output, "text", out_where);
      request.output_ids = json_int32_list(output, "token_ids", out_where, true);
      request.n_prompt_tokens = static_cast<int64_t>(prompt_ids.size());
      request.n_generated_tokens = static_cast<int64_t>(request.output_ids.size());
      auto routed = output.find("routed_experts");
      if (routed == output.end() || routed->is_null())
        fail_input(out_where + ": routed_experts is missing (was the engine built with "
                               "enable_return_routed_experts=True?)");
      const std::string field = out_where + ", routed_experts";
      int64_t n_positions = 0;
      std::vector<int32_t> values = routed_experts_values(*routed, writer.config(), field, n_positions);
      const int64_t expected = request.n_prompt_tokens + request.n_generated_tokens - 1;
      if (n_positions != expected)
        fail_input(field + ": routing for " + std::to_string(n_positions) + " tokens, expected " +
                   std::to_string(expected) + " (prompt_token_ids + token_ids - 1)");
      take_engine_layout(values, n_positions, writer.config(), field, request);
      writer.write(request);
    }
    ++n_requests;
  });
  if (n_requests == 0) fail_input(file.string() + ": no requests in the capture file");
  writer.commit_file();
}

}  // namespace moescope::sessions

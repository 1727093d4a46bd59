// Run panel: prompt editor, tag, prompt sets, generation settings, capacity factors and the
// enforce switch, EP degree, backend; runs go to a worker thread (RunController) while the
// panel shows progress, tokens as they stream in, and Cancel.
// [SECTION] index: form, progress, view.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "core/engine_factory.h"
#include "core/error.h"
#include "sessions/default_path.h"
#include "sessions/prompt_set.h"
#include "ui/assets.h"
#include "ui/colormap.h"
#include "ui/run_controller.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

// "1.0, 1.25" -> {1.0, 1.25}; InputError on anything that is not a positive number.
std::vector<double> parse_factors(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      size_t used = 0;
      const double v = std::stod(part, &used);
      if (!(v > 0) || part.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(part);
      out.push_back(v);
    } catch (const std::exception&) {
      fail_input("capacity factors: '" + part + "' is not a positive number (expected e.g. 1.0, 1.25, 2)");
    }
  }
  return out;
}

void start_run(AppState& app) {
  const RunForm& f = app.run_form;
  RunRequest r;
  r.model_dir = app.model_dir;
  r.prompt = f.prompt;
  r.tag = f.tag == IM_ARRAYSIZE(kRunTags) - 1 ? f.custom_tag : kRunTags[f.tag];
  const auto sets = prompt_sets();
  if (f.prompt_set >= 0 && f.prompt_set < static_cast<int>(sets.size())) r.batch = sessions::load_prompt_set(sets[static_cast<size_t>(f.prompt_set)]);
  r.max_new_tokens = f.max_new_tokens;
  r.sampling.temperature = f.temperature;
  r.sampling.top_p = f.top_p;
  r.sampling.seed = static_cast<uint64_t>(f.seed);
  r.capacity_factors = parse_factors(f.capacity_factors);
  r.engine.enforce_capacity_factor = f.enforce_capacity ? f.enforce_factor : 0.0;
  r.engine.ep_degree = f.ep_degree;
  r.engine.ep_interconnect = kInterconnects[f.interconnect];
  r.engine.backend = f.backend == 1 ? Backend::cuda : Backend::cpu;
  if (app.doc && std::filesystem::exists(app.doc->label())) r.session_file = app.doc->label();
  app.runner->start(std::move(r));
}

//-----------------------------------------------------------------------------
// [SECTION] form
//-----------------------------------------------------------------------------

void draw_form(AppState& app) {
  RunForm& f = app.run_form;
  const bool busy = app.runner->running();
  ImGui::BeginDisabled(busy);
  ImGui::TextDisabled("Model");
  ImGui::SameLine();
  ImGui::TextUnformatted(app.model_dir.empty() ? "none chosen (Start page or File > Open checkpoint folder)" : app.model_dir.c_str());
  ImGui::TextDisabled("Prompt");
  ImGui::InputTextMultiline("##prompt", &f.prompt, ImVec2(-1, ImGui::GetTextLineHeight() * 7));
  const float label_w = ImGui::GetFontSize() * 9;
  auto label = [&](const char* text) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextDisabled("%s", text);
    ImGui::SameLine(label_w);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 12);
  };
  label("tag");
  ImGui::Combo("##tag", &f.tag, kRunTags, IM_ARRAYSIZE(kRunTags));
  if (f.tag == IM_ARRAYSIZE(kRunTags) - 1) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 10);
    ImGui::InputTextWithHint("##customtag", "custom tag", &f.custom_tag);
  }
  const auto sets = prompt_sets();
  label("prompt set");
  const std::string current = f.prompt_set >= 0 && f.prompt_set < static_cast<int>(sets.size())
                                  ? sets[static_cast<size_t>(f.prompt_set)].filename().string()
                                  : std::string("(the prompt above)");
  if (ImGui::BeginCombo("##set", current.c_str())) {
    if (ImGui::Selectable("(the prompt above)", f.prompt_set < 0)) f.prompt_set = -1;
    for (size_t i = 0; i < sets.size(); ++i) {
      if (ImGui::Selectable(sets[i].filename().string().c_str(), f.prompt_set == static_cast<int>(i))) f.prompt_set = static_cast<int>(i);
    }
    ImGui::EndCombo();
  }
  label("new tokens");
  ImGui::SliderInt("##max", &f.max_new_tokens, 1, 1024);
  label("temperature");
  ImGui::SliderFloat("##temp", &f.temperature, 0.0f, 2.0f, f.temperature == 0 ? "0 (greedy)" : "%.2f");
  label("top-p");
  ImGui::SliderFloat("##topp", &f.top_p, 0.05f, 1.0f, "%.2f");
  label("seed");
  ImGui::InputInt("##seed", &f.seed);
  label("capacity factors");
  ImGui::InputText("##factors", &f.capacity_factors);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("overflow is recorded for each factor C: capacity = ceil(C * T * k / E)");
  label("enforce capacity");
  ImGui::Checkbox("##enforce", &f.enforce_capacity);
  ImGui::SameLine();
  ImGui::BeginDisabled(!f.enforce_capacity);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
  ImGui::SliderFloat("##enforce_c", &f.enforce_factor, 0.5f, 4.0f, "C = %.2f");
  ImGui::EndDisabled();
  label("EP degree");
  ImGui::SliderInt("##ep", &f.ep_degree, 1, 64);
  label("interconnect");
  ImGui::BeginDisabled(f.ep_degree <= 1);
  ImGui::Combo("##interconnect", &f.interconnect, kInterconnects, IM_ARRAYSIZE(kInterconnects));
  ImGui::EndDisabled();
  label("backend");
  if (cuda_engine_available()) {
    ImGui::Combo("##backend", &f.backend, "CPU\0CUDA\0");
  } else {
    ImGui::Combo("##backend", &f.backend, "CPU\0CUDA (not in this build)\0");
    f.backend = 0;
  }
  ImGui::EndDisabled();
  ImGui::Spacing();
  ImGui::BeginDisabled(busy || app.model_dir.empty());
  if (ImGui::Button("Run", ImVec2(ImGui::GetFontSize() * 8, 0))) {
    try {
      start_run(app);
    } catch (const std::exception& e) {
      app.error_message = e.what();
    }
  }
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::TextDisabled(app.doc && std::filesystem::exists(app.doc->label()) ? "records into the open session" : "not recorded (open a session to record)");
}

//-----------------------------------------------------------------------------
// [SECTION] progress
//-----------------------------------------------------------------------------

void draw_progress(AppState& app) {
  const RunProgress p = app.runner->progress();
  if (!p.running && app.live_outcome.empty()) {
    ImGui::TextDisabled("No run yet.");
    return;
  }
  const float frac = p.tokens_total > 0 ? static_cast<float>(p.tokens_done) / static_cast<float>(p.tokens_total) : 0.0f;
  char overlay[96];
  std::snprintf(overlay, sizeof overlay, "%s  %d / %d tokens  %.1f s", p.stage.c_str(), p.tokens_done, p.tokens_total, p.elapsed_s);
  if (p.prompt_count > 1) {
    ImGui::Text("prompt %d of %d", p.prompt_index + 1, p.prompt_count);
  }
  ImGui::ProgressBar(p.running ? frac : 1.0f, ImVec2(-ImGui::GetFontSize() * 7, 0), overlay);
  ImGui::SameLine();
  ImGui::BeginDisabled(!p.running);
  if (ImGui::Button("Cancel", ImVec2(-1, 0))) app.runner->cancel();
  ImGui::EndDisabled();
  if (!p.running) ImGui::TextDisabled("last run: %s", app.live_outcome.c_str());
  // Tokens as they arrive, coloured by their top-1 expert at the first MoE layer.
  auto run = app.doc ? app.doc->run(-1) : nullptr;
  if (!run || run->routing.n_tokens == 0) return;
  const RunCache& cache = app.cache_for(*run);
  ImGui::PushFont(app.fonts.mono);
  ImGui::BeginChild("##stream", ImVec2(0, 0), true);
  const auto& r = run->routing;
  for (int32_t t = 0; t < r.n_tokens; ++t) {
    const ImU32 fill = categorical_color(cache.summary.top1[static_cast<size_t>(t)]);
    const char* text = run->token_text[t].c_str();
    const ImVec2 size = ImGui::CalcTextSize(text);
    if (t > 0) ImGui::SameLine(0, 2);
    if (ImGui::GetCursorPosX() + size.x + 8 > ImGui::GetContentRegionAvail().x + ImGui::GetCursorStartPos().x) ImGui::NewLine();
    const ImVec2 a = ImGui::GetCursorScreenPos();
    ImGui::GetWindowDrawList()->AddRectFilled(a, ImVec2(a.x + size.x + 6, a.y + size.y + 4), fill, 3);
    ImGui::GetWindowDrawList()->AddText(ImVec2(a.x + 3, a.y + 2), luminance(fill) > 0.5f ? IM_COL32(15, 15, 20, 255) : IM_COL32_WHITE, text);
    ImGui::Dummy(ImVec2(size.x + 6, size.y + 4));
  }
  ImGui::EndChild();
  ImGui::PopFont();
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_run_view(AppState& app) {
  const float w = std::min(ImGui::GetContentRegionAvail().x * 0.5f, ImGui::GetFontSize() * 34);
  ImGui::BeginChild("##form", ImVec2(w, 0), true);
  draw_form(app);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##progress", ImVec2(0, 0), true);
  ImGui::TextUnformatted("Progress");
  draw_progress(app);
  ImGui::EndChild();
}

}  // namespace moescope::ui

// Start page: open a checkpoint folder (with recent folders), open a session file, or use the
// bundled demo model; the chosen checkpoint's model card.
// [SECTION] index: model card, cards, view.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <cstdio>

#include "core/error.h"
#include "sessions/default_path.h"
#include "sessions/prompt_set.h"
#include "ui/assets.h"
#include "ui/model_card.h"
#include "ui/run_controller.h"
#include "ui/session_file_source.h"
#include "ui/script_player.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] model card
//-----------------------------------------------------------------------------

void refresh_card(AppState& app) {
  if (app.card_dir == app.model_dir) return;
  app.card_dir = app.model_dir;
  app.card_error.clear();
  try {
    app.card = describe_checkpoint(app.model_dir);
  } catch (const std::exception& e) {
    app.card_error = e.what();
  }
}

void row(const char* key, const std::string& value) {
  ImGui::TableNextRow();
  ImGui::TableNextColumn();
  ImGui::TextDisabled("%s", key);
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(value.c_str());
}

void draw_model_card(AppState& app, const ModelCard& m, int64_t weight_bytes, int64_t kv_per_token) {
  ImGui::PushFont(app.fonts.heading);
  ImGui::TextUnformatted(m.name.c_str());
  ImGui::PopFont();
  if (!ImGui::BeginTable("##card", 2, ImGuiTableFlags_SizingFixedFit)) return;
  row("family", m.family);
  if (m.n_layers > 0) row("layers", std::to_string(m.n_layers) + " (" + std::to_string(m.n_moe_layers) + " MoE)");
  row("routed experts", std::to_string(m.n_experts) + (m.n_shared_experts > 0 ? " + " + std::to_string(m.n_shared_experts) + " shared" : ""));
  row("top-k", std::to_string(m.top_k));
  if (m.total_params > 0) {
    row("parameters", format_count(static_cast<double>(m.total_params)) + " total, " +
                          format_count(static_cast<double>(m.active_params)) + " active per token");
  }
  if (!m.dtype.empty()) row("dtype", m.dtype);
  if (weight_bytes > 0) {
    row("memory (CPU)", format_bytes(static_cast<double>(weight_bytes)) + " weights (mapped) + " +
                            format_bytes(static_cast<double>(kv_per_token) * 4096) + " KV cache at 4096 tokens");
  }
  ImGui::EndTable();
}

//-----------------------------------------------------------------------------
// [SECTION] cards
//-----------------------------------------------------------------------------

void open_session(AppState& app, const std::string& path) {
  try {
    app.request_open(open_session_source(path), ViewId::tokens);
    remember_recent(app.settings.recent_sessions, path);
  } catch (const std::exception& e) {
    app.error_message = e.what();
  }
}

void checkpoint_card(AppState& app, float width, float height) {
  ImGui::BeginChild("##checkpoint", ImVec2(width, height), true);
  ImGui::TextUnformatted("Checkpoint");
  ImGui::TextDisabled("A Hugging Face folder: config.json + safetensors");
  if (app.model_dir_field.empty()) app.model_dir_field = app.model_dir;
  ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 4);
  const bool entered = ImGui::InputTextWithHint("##modeldir", "path to a checkpoint folder", &app.model_dir_field,
                                                ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Open") || entered) && !app.model_dir_field.empty()) {
    app.model_dir = app.model_dir_field;
    remember_recent(app.settings.recent_models, app.model_dir);
  }
  if (!app.settings.recent_models.empty()) {
    ImGui::TextDisabled("Recent");
    for (const auto& dir : app.settings.recent_models) {
      if (ImGui::Selectable(dir.c_str(), dir == app.model_dir)) {
        app.model_dir = dir;
        app.model_dir_field = dir;
      }
    }
  }
  ImGui::EndChild();
}

void session_card(AppState& app, float width, float height) {
  ImGui::BeginChild("##session", ImVec2(width, height), true);
  ImGui::TextUnformatted("Session");
  ImGui::TextDisabled("A recorded .db file: runs, routing, timings");
  if (app.doc) {
    ImGui::Text("%s", app.doc->label().c_str());
    std::string tags;
    for (const auto& t : app.doc->tags()) tags += (tags.empty() ? "" : ", ") + (t.empty() ? std::string("(none)") : t);
    ImGui::TextDisabled("%zu runs; tags: %s", app.doc->runs().size(), tags.c_str());
    if (ImGui::Button("Explore tokens")) app.view = ViewId::tokens;
  }
  if (!app.settings.recent_sessions.empty()) {
    ImGui::TextDisabled("Recent");
    for (const auto& file : app.settings.recent_sessions) {
      if (ImGui::Selectable(file.c_str())) open_session(app, file);
    }
  }
  ImGui::EndChild();
}

void demo_card(AppState& app, float width, float height) {
  ImGui::BeginChild("##demo", ImVec2(width, height), true);
  ImGui::TextUnformatted("Demo");
  const auto models = demo_models();
  if (models.empty()) {
    ImGui::TextDisabled("No bundled demo model found (assets/models)");
  } else {
    ImGui::TextDisabled("A small MoE trained on code, verse, maths and prose");
    for (const auto& m : models) {
      if (ImGui::Selectable(m.filename().string().c_str(), app.model_dir == m.string())) app.model_dir = m.string();
    }
    const auto sets = prompt_sets();
    const bool clicked = !sets.empty() && ImGui::Button("Run the demo comparison");
    if (!sets.empty()) note_clickable(app, "Run the demo comparison");
    if (clicked) {
      try {
        RunRequest request;
        request.model_dir = models.front();
        for (const auto& set : sets) {
          for (auto& item : sessions::load_prompt_set(set)) request.batch.push_back(std::move(item));
        }
        request.max_new_tokens = 16;
        request.session_file = app.doc && std::filesystem::exists(app.doc->label()) ? app.doc->label()
                                                                                     : sessions::default_session_path().string();
        // On a fresh machine the default session's folder does not exist yet (the CLI makes it too).
        if (request.session_file.has_parent_path()) std::filesystem::create_directories(request.session_file.parent_path());
        app.runner->start(request);
        app.demo_session = request.session_file.string();
        app.view = ViewId::run;
      } catch (const std::exception& e) {
        app.error_message = e.what();
      }
    }
  }
  ImGui::EndChild();
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_start_view(AppState& app) {
  ImGui::PushFont(app.fonts.heading);
  ImGui::TextUnformatted("See inside a Mixture-of-Experts model");
  ImGui::PopFont();
  ImGui::TextDisabled("Open a checkpoint to run prompts, or a session to explore recorded routing.");
  ImGui::Spacing();
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  const float w = (ImGui::GetContentRegionAvail().x - 2 * gap) / 3.0f;
  const float h = ImGui::GetFontSize() * 14;
  checkpoint_card(app, w, h);
  ImGui::SameLine();
  session_card(app, w, h);
  ImGui::SameLine();
  demo_card(app, w, h);
  ImGui::Spacing();
  ImGui::BeginChild("##modelcard", ImVec2(0, 0), true);
  if (!app.model_dir.empty()) {
    refresh_card(app);
    if (!app.card_error.empty()) {
      ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1.0f), "%s", app.card_error.c_str());
    } else {
      draw_model_card(app, app.card.card, app.card.weight_bytes, app.card.kv_bytes_per_token);
      if (ImGui::Button("Run a prompt on it")) app.view = ViewId::run;
    }
  } else if (app.doc && app.doc->model().n_experts > 0) {
    ImGui::TextDisabled("Model of the open session");
    draw_model_card(app, app.doc->model(), 0, 0);
  } else {
    ImGui::TextDisabled("No model chosen yet.");
  }
  ImGui::EndChild();
}

}  // namespace moescope::ui

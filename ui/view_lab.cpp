// Routing lab (issue #19): the selected run's recorded router logits replayed under a routing
// policy from the literature (core/routing_policies), its load, drops and agreement per layer
// beside the routing the run had; Apply runs the model again under the policy (CPU engine, as
// `moescope replay --apply`) and selects the new run. The replay and the apply run off the UI
// thread. [SECTION] index: work, options, results, view.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/analysis/load_metrics.h"
#include "core/error.h"
#include "core/model.h"
#include "sessions/reader.h"
#include "sessions/replay_apply.h"
#include "ui/colormap.h"
#include "ui/script_player.h"
#include "ui/value_axis.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

namespace rp = routing_policies;

//-----------------------------------------------------------------------------
// [SECTION] work (off the UI thread)
//-----------------------------------------------------------------------------

LabReplay replay_recorded_run(const std::string& db, int64_t run_id, const rp::PolicyOptions& options) {
  sessions::SessionReader reader(db);
  const sessions::RunSummary run = reader.run(run_id);
  const ModelConfig config = recorded_config(reader, run);
  const bool model_here = !run.model_path.empty() && std::filesystem::exists(run.model_path);
  std::map<int32_t, std::vector<float>> bias;
  if (config.topk_method == TopkMethod::noaux_tc) {
    // The model's own rule adds DeepSeek-V3's correction bias, which only the checkpoint holds.
    if (!model_here) {
      fail_input("run " + std::to_string(run_id) +
                 "'s routing adds the checkpoint's correction bias, and its model folder '" + run.model_path +
                 "' is not here");
    }
    bias = rp::correction_biases(*load_model(run.model_path));
  }
  const analysis::RoutingArrays recorded = reader.routing(run_id, {.scores = false, .router_logits = true});
  if (!recorded.has_router_logits()) {
    fail_input(
        "run " + std::to_string(run_id) +
        " has no router logits to replay: the lab needs a run recorded with --router-logits (run or record)");
  }
  rp::PolicyRunner runner(config, options, bias);
  const auto replayed = rp::replay_run(recorded, runner);
  LabReplay out;
  out.policy = rp::policy_name(options.kind);
  out.n_tokens = recorded.n_tokens;
  out.n_experts = recorded.n_experts;
  out.k = runner.k();
  out.width = runner.width();
  out.model_path = run.model_path;
  for (int32_t l = 0; l < recorded.n_layers; ++l) {
    out.layers.push_back(rp::replay_metrics(recorded, l, replayed[static_cast<size_t>(l)]));
    const std::vector<double> load = analysis::expert_load(recorded, l);
    out.actual_max_vio.push_back(analysis::max_vio(load));
    out.actual_cv.push_back(analysis::coefficient_of_variation(load));
    out.actual_gini.push_back(analysis::gini(load));
  }
  try {
    check_can_apply(runner);
    if (!model_here) out.cannot_apply = "the run's model folder '" + run.model_path + "' is not here";
  } catch (const InputError& e) {
    out.cannot_apply = e.what();
  }
  return out;
}

LabApplied apply_policy(const std::string& db, int64_t run_id, const std::string& model_path,
                        const rp::PolicyOptions& o, int32_t k, int32_t width, const std::string& priority) {
  // The same settings record as `replay --apply` writes, so the new run says what made it.
  const nlohmann::json settings = {
      {"replay_of_run", run_id},
      {"policy", rp::policy_name(o.kind)},
      {"k", k},
      {"width", width},
      {"noise_std", o.noise_std},
      {"seed", o.seed},
      {"capacity_factor", o.capacity_factor},
      {"priority", priority},
      {"solver", "auction"},
      {"bias_rate", o.bias_rate},
      {"groups", o.groups},
      {"topk_groups", o.topk_groups},
      {"kl_reference", "tokens.kl_to_dropless holds KL(recorded run || this run)"}};
  const ApplyResult r = apply_replay(db, run_id, model_path, o, settings.dump());
  LabApplied out;
  out.source_run = run_id;
  out.run_id = r.run_id;
  out.tag = "replay:" + rp::policy_name(o.kind);
  for (double v : r.kl) out.kl_mean += v, out.kl_max = std::max(out.kl_max, v);
  if (!r.kl.empty()) out.kl_mean /= static_cast<double>(r.kl.size());
  out.prompt_loglik_change = r.prompt_loglik_replayed - r.prompt_loglik_recorded;
  return out;
}

uint64_t bits(double v) {
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

uint64_t options_key(uint64_t base, const rp::PolicyOptions& o) {
  uint64_t h = mix_key(base, static_cast<uint64_t>(o.kind) + 1);
  for (uint64_t v : {static_cast<uint64_t>(o.k), bits(o.noise_std), o.seed, bits(o.capacity_factor),
                     static_cast<uint64_t>(o.priority), bits(o.bias_rate)}) {
    h = mix_key(h, v);
  }
  return h;
}

//-----------------------------------------------------------------------------
// [SECTION] options
//-----------------------------------------------------------------------------

void draw_policy_options(AppState& app) {
  RoutingLabState& lab = app.lab;
  rp::PolicyOptions& o = lab.options;
  ImGui::TextUnformatted("Policy");
  for (const std::string& name : rp::policy_names()) {
    ImGui::SameLine();
    const rp::PolicyKind kind = rp::parse_policy(name);
    if (ImGui::RadioButton(name.c_str(), o.kind == kind)) o.kind = kind;
    note_clickable(app, ("policy:" + name).c_str());
  }
  const float w = ImGui::GetFontSize() * 7;
  ImGui::SetNextItemWidth(w);
  ImGui::InputInt("k (0: the policy's default)", &o.k);
  o.k = std::clamp(o.k, 0, 64);
  if (o.kind == rp::PolicyKind::capacity || o.kind == rp::PolicyKind::expert_choice) {
    ImGui::SameLine();
    float c = static_cast<float>(o.capacity_factor);
    ImGui::SetNextItemWidth(w * 1.4f);
    if (ImGui::SliderFloat("capacity factor", &c, 0.25f, 4.0f, "C = %.2f")) o.capacity_factor = c;
  }
  if (o.kind == rp::PolicyKind::capacity) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(w * 1.4f);
    if (ImGui::Combo("keeps a slot", &lab.priority, "earlier position\0higher score\0")) {
      o.priority = lab.priority == 0 ? rp::CapacityPriority::position : rp::CapacityPriority::score;
    }
  }
  if (o.kind == rp::PolicyKind::noisy_topk) {
    ImGui::SameLine();
    float s = static_cast<float>(o.noise_std);
    ImGui::SetNextItemWidth(w);
    if (ImGui::SliderFloat("noise std", &s, 0.0f, 4.0f, "%.2f")) o.noise_std = s;
  }
  if (o.kind == rp::PolicyKind::aux_free_bias) {
    ImGui::SameLine();
    float r = static_cast<float>(o.bias_rate);
    ImGui::SetNextItemWidth(w);
    if (ImGui::SliderFloat("bias rate", &r, 1e-5f, 1e-1f, "%.5f", ImGuiSliderFlags_Logarithmic))
      o.bias_rate = r;
  }
}

//-----------------------------------------------------------------------------
// [SECTION] results
//-----------------------------------------------------------------------------

// Max violation per layer: the recorded routing (grey) and the policy (coloured), side by side.
void draw_max_vio_chart(const LabReplay& r, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::Dummy(size);
  const float font = ImGui::GetFontSize();
  const float left = font * 3, bottom = font * 1.6f;
  const float x0 = p.x + left, x1 = p.x + size.x, y0 = p.y + font * 0.5f, y1 = p.y + size.y - bottom;
  double largest = 0;
  for (size_t l = 0; l < r.layers.size(); ++l)
    largest = std::max({largest, r.layers[l].max_vio, r.actual_max_vio[l]});
  const ValueAxis value_axis = round_value_axis(largest);
  const double top = value_axis.top;
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled),
              actual = ImGui::GetColorU32(ImGuiCol_TextDisabled, 0.6f);
  const ImU32 policy = categorical_color(0);
  const size_t n = r.layers.size();
  const float slot = (x1 - x0) / static_cast<float>(std::max<size_t>(1, n));
  char buf[32];
  draw_value_axis(dl, value_axis, x0, x1, y0, y1);
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  int hovered = -1;
  for (size_t l = 0; l < n; ++l) {
    const float xa = x0 + slot * static_cast<float>(l), bw = std::max(1.0f, slot * 0.4f);
    const float ha = static_cast<float>(r.actual_max_vio[l] / top) * (y1 - y0),
                hp = static_cast<float>(r.layers[l].max_vio / top) * (y1 - y0);
    dl->AddRectFilled(ImVec2(xa + slot * 0.1f, y1 - ha), ImVec2(xa + slot * 0.1f + bw, y1), actual);
    dl->AddRectFilled(ImVec2(xa + slot * 0.5f, y1 - hp), ImVec2(xa + slot * 0.5f + bw, y1), policy);
    if (mouse.x >= xa && mouse.x < xa + slot && mouse.y >= y0 && mouse.y < y1 && ImGui::IsWindowHovered())
      hovered = static_cast<int>(l);
  }
  dl->AddLine(ImVec2(x0, y1), ImVec2(x1, y1), axis);
  const size_t label_every =
      std::max<size_t>(1, static_cast<size_t>(std::ceil(font * 2.5f / std::max(1.0f, slot))));
  for (size_t l = 0; l < n; l += label_every) {
    std::snprintf(buf, sizeof buf, "%d", r.layers[l].layer_id);
    dl->AddText(
        ImVec2(x0 + slot * (static_cast<float>(l) + 0.5f) - ImGui::CalcTextSize(buf).x * 0.5f, y1 + 2), axis,
        buf);
  }
  dl->AddText(ImVec2(x0 + (x1 - x0) * 0.5f - font * 2, y1 + font * 0.8f), ImGui::GetColorU32(ImGuiCol_Text),
              "MoE layer");
  if (hovered >= 0) {
    const auto& m = r.layers[static_cast<size_t>(hovered)];
    ImGui::SetTooltip(
        "layer %d\nmax violation %.3f (recorded %.3f)\nCV %.3f (recorded %.3f)\ndrops %.2f%%, top-1 "
        "agreement %.3f",
        m.layer_id, m.max_vio, r.actual_max_vio[static_cast<size_t>(hovered)], m.cv,
        r.actual_cv[static_cast<size_t>(hovered)], 100.0 * m.drop_rate, m.top1_agreement);
  }
}

void draw_layer_table(const LabReplay& r) {
  constexpr ImGuiTableFlags kFlags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                     ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchSame;
  if (!ImGui::BeginTable("##lablayers", 10, kFlags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* h : {"layer", "max_vio", "(recorded)", "CV", "(recorded)", "Gini", "drop %", "top-1 agree",
                        "Jaccard", "tokens changed"}) {
    ImGui::TableSetupColumn(h);
  }
  ImGui::TableHeadersRow();
  ImGuiListClipper clipper;
  clipper.Begin(static_cast<int>(r.layers.size()));
  while (clipper.Step()) {
    for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
      const auto& m = r.layers[static_cast<size_t>(i)];
      const size_t l = static_cast<size_t>(i);
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::Text("%d", m.layer_id);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", m.max_vio);
      ImGui::TableNextColumn();
      ImGui::TextDisabled("%.3f", r.actual_max_vio[l]);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", m.cv);
      ImGui::TableNextColumn();
      ImGui::TextDisabled("%.3f", r.actual_cv[l]);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", m.gini);
      ImGui::TableNextColumn();
      ImGui::Text("%.2f", 100.0 * m.drop_rate);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", m.top1_agreement);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", m.jaccard);
      ImGui::TableNextColumn();
      ImGui::Text("%lld", static_cast<long long>(m.tokens_changed));
    }
  }
  ImGui::EndTable();
}

// Apply, and what the last apply gave: the new run selected, with a way to compare it.
void draw_apply(AppState& app, const LabReplay& r, int64_t run_id, const std::string& db) {
  RoutingLabState& lab = app.lab;
  const bool applying = lab.apply.running();
  ImGui::BeginDisabled(applying || !r.cannot_apply.empty());
  if (ImGui::Button("Apply: run the model under this policy")) {
    const rp::PolicyOptions o = lab.options;
    const std::string model = r.model_path, priority = lab.priority == 0 ? "position" : "score";
    const int32_t k = r.k, width = r.width;
    lab.apply.start(options_key(mix_key(app.doc->version(), static_cast<uint64_t>(run_id)), o),
                    [=] { return apply_policy(db, run_id, model, o, k, width, priority); });
  }
  note_clickable(app, "Apply");
  ImGui::EndDisabled();
  if (!r.cannot_apply.empty() && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("%s", r.cannot_apply.c_str());
  ImGui::SameLine();
  if (applying) {
    ImGui::TextDisabled("running the model on the CPU under %s...", r.policy.c_str());
  } else if (!lab.apply.error().empty()) {
    ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1.0f), "apply failed: %s", lab.apply.error().c_str());
  } else if (const LabApplied* a = lab.apply.result()) {
    if (lab.apply_shown != lab.apply.key()) {
      // Jump to the new run once: the session now holds it.
      lab.apply_shown = lab.apply.key();
      try {
        app.doc->refresh();
        app.run_id = a->run_id;
        app.selection.reset_tokens();
        app.status_line = "applied as run " + std::to_string(a->run_id) + " (" + a->tag + ")";
      } catch (const std::exception& e) {
        app.error_message = e.what();
      }
    }
    ImGui::Text(
        "run %lld (%s): KL to the recorded output %.3g mean, %.3g max nats/token; prompt log-likelihood "
        "%+.3f nats",
        static_cast<long long>(a->run_id), a->tag.c_str(), a->kl_mean, a->kl_max, a->prompt_loglik_change);
    ImGui::SameLine();
    if (ImGui::SmallButton("Tokens")) app.view = ViewId::tokens;
    ImGui::SameLine();
    if (ImGui::SmallButton("Compare with the original")) {
      app.compare = CompareState{};
      app.compare.mode = 1;
      app.compare.run_a = a->source_run;
      app.compare.run_b = a->run_id;
      app.view = ViewId::compare;
    }
  } else if (r.cannot_apply.empty()) {
    ImGui::TextDisabled("records a new run tagged replay:%s beside this one", r.policy.c_str());
  } else {
    ImGui::TextDisabled("cannot apply: %s", r.cannot_apply.c_str());
  }
}

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] view
//-----------------------------------------------------------------------------

void draw_lab_view(AppState& app) {
  auto run = app.selected_run();
  if (!run) {
    draw_empty_hint(app.doc ? "Select a run in the sidebar"
                            : "Open a session (File > Open session) or start a run");
    return;
  }
  std::error_code ec;
  const std::string db = app.doc->label();
  if (!std::filesystem::is_regular_file(db, ec) || run->summary.id <= 0) {
    draw_empty_hint(
        "The Routing lab replays a recorded run's router logits: open a session file (this one is not on "
        "disk)");
    return;
  }
  if (run->lacks("router_logits")) {
    draw_lacking_hint(app, *run, "router_logits", "the Routing lab (it replays the router's raw logits)");
    return;
  }
  draw_policy_options(app);
  RoutingLabState& lab = app.lab;
  const int64_t run_id = run->summary.id;
  const rp::PolicyOptions options = lab.options;
  lab.replay.ensure(options_key(mix_key(app.doc->version(), static_cast<uint64_t>(run_id)), options),
                    [db, run_id, options] { return replay_recorded_run(db, run_id, options); });
  ImGui::Separator();
  if (lab.replay.running()) {
    ImGui::TextDisabled("replaying run %lld under %s...", static_cast<long long>(run_id),
                        rp::policy_name(options.kind).c_str());
    return;
  }
  if (!lab.replay.error().empty()) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted(lab.replay.error().c_str());
    ImGui::PopTextWrapPos();
    return;
  }
  const LabReplay* r = lab.replay.result();
  if (!r || r->layers.empty()) return;
  double vio = 0, vio_actual = 0, drop = 0, agree = 0, jac = 0;
  for (size_t l = 0; l < r->layers.size(); ++l) {
    vio += r->layers[l].max_vio, vio_actual += r->actual_max_vio[l], drop += r->layers[l].drop_rate;
    agree += r->layers[l].top1_agreement, jac += r->layers[l].jaccard;
  }
  const double n = static_cast<double>(r->layers.size());
  ImGui::Text(
      "%s over run %lld (%d tokens, k = %d): mean max violation %.3f (recorded %.3f), drops %.2f%%, top-1 "
      "agreement %.3f, Jaccard %.3f",
      r->policy.c_str(), static_cast<long long>(run_id), r->n_tokens, r->k, vio / n, vio_actual / n,
      100.0 * drop / n, agree / n, jac / n);
  draw_apply(app, *r, run_id, db);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  ImGui::TextDisabled("max violation per layer: recorded (grey) and %s (colour)", r->policy.c_str());
  draw_max_vio_chart(*r, ImVec2(avail.x, avail.y * 0.4f));
  draw_layer_table(*r);
}

}  // namespace moescope::ui

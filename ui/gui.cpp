// The main loop: GLFW window, OpenGL 3 context, ImGui frames; the tour and the live-run test
// hooks drive it frame by frame. [SECTION] index: window setup, tour, live-run hooks, loop.
#include "ui/gui.h"

#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <time.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <utility>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sessions/prompt_set.h"
#include "ui/app_state.h"
#include "ui/run_controller.h"
#include "ui/screenshot.h"
#include "ui/script_player.h"
#include "ui/session_file_source.h"
#include "ui/style.h"
#include "ui/synthetic_session.h"
#include "ui/tour.h"
#include "ui/views.h"

namespace moescope::ui {
namespace {

//-----------------------------------------------------------------------------
// [SECTION] window setup
//-----------------------------------------------------------------------------

struct GlfwSession {
  GLFWwindow* window = nullptr;
  GlfwSession() {
    glfwSetErrorCallback([](int code, const char* text) { std::fprintf(stderr, "moescope: glfw %d: %s\n", code, text); });
    if (!glfwInit()) throw ResourceError("cannot open a window: no display (set DISPLAY, or run under xvfb-run)");
  }
  ~GlfwSession() {
    if (window) glfwDestroyWindow(window);
    glfwTerminate();
  }
};

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct FrameTimer {
  double build_cpu_ms = 0;  // NewFrame .. Render, on this thread's CPU clock
};

// One frame: build the UI (timed), draw it, optionally capture it, present it.
FrameTimer frame(GLFWwindow* window, AppState& app, const std::string& capture_png, ScriptPlayer* script = nullptr) {
  FrameTimer t;
  const double t0 = thread_cpu_ms();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  // Scripted runs keep the pointer out of the window so no hover tooltip lands in a screenshot;
  // a playing script sets it where it clicks.
  if (script) {
    script->before_frame(app);
  } else if (app.tour_mode) {
    ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
  }
  ImGui::NewFrame();
  draw_shell(app);
  ImGui::Render();
  t.build_cpu_ms = thread_cpu_ms() - t0;
  int w = 0, h = 0;
  glfwGetFramebufferSize(window, &w, &h);
  glViewport(0, 0, w, h);
  const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
  glClearColor(bg.x, bg.y, bg.z, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  if (!capture_png.empty()) write_framebuffer_png(w, h, capture_png);
  if (app.want_screenshot) {
    app.want_screenshot = false;
    const int scale = std::exchange(app.screenshot_scale, 1);
    try {
      if (scale > 1) {
        write_scaled_png(scale, app.screenshot_path);
      } else {
        write_framebuffer_png(w, h, app.screenshot_path);
      }
      app.status_line = "saved " + app.screenshot_path;
    } catch (const std::exception& e) {
      app.error_message = e.what();
    }
  }
  glfwSwapBuffers(window);
  return t;
}

void open_initial_session(AppState& app, const GuiOptions& options) {
  if (!options.synthetic.empty()) {
    app.open_session(make_synthetic_source(parse_synthetic_spec(options.synthetic)));
  } else if (!options.session_file.empty() && std::filesystem::exists(options.session_file)) {
    app.open_session(open_session_source(options.session_file));
    remember_recent(app.settings.recent_sessions, std::filesystem::absolute(options.session_file).string());
  } else if (!options.session_file.empty() && !options.tour_dir.empty()) {
    fail_input("session file " + options.session_file + " does not exist");
  }
  if (!options.model_dir.empty()) app.model_dir = options.model_dir;
}

//-----------------------------------------------------------------------------
// [SECTION] live-run hooks (tests)
//-----------------------------------------------------------------------------

struct LiveHooks {
  bool active = false;
  std::chrono::steady_clock::time_point started;
  int frames_while_running = 0;
  double running_s = 0;  // how long the run was seen running
  double max_frame_gap_ms = 0;
  bool cancel_sent = false, close_sent = false;
  double cancel_latency_s = -1;
  std::string outcome;
};

}  // namespace

int run_gui(const GuiOptions& options) {
  AppState app;
  const bool scripted = !options.tour_dir.empty() || !options.report_json.empty() || !options.script_file.empty();
  app.tour_mode = scripted;
  std::unique_ptr<ScriptPlayer> script;
  if (!options.script_file.empty()) {
    script = std::make_unique<ScriptPlayer>(options.script_file);
    app.scripted_input = true;
  }
  const auto settings_file = config_dir() / "settings.json";
  if (!scripted) app.settings = load_settings(settings_file);
  if (options.dark_theme) app.settings.dark_theme = *options.dark_theme;
  const int width = options.width > 0 ? options.width : app.settings.window_width;
  const int height = options.height > 0 ? options.height : app.settings.window_height;
  open_initial_session(app, options);

  GlfwSession glfw;
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_TRUE);
  if (scripted) glfwWindowHint(GLFW_RESIZABLE, GLFW_FALSE);
  glfw.window = glfwCreateWindow(width, height, "moescope", nullptr, nullptr);
  if (!glfw.window) throw ResourceError("cannot create an OpenGL 3.3 window");
  glfwMakeContextCurrent(glfw.window);
  glfwSwapInterval(scripted ? 0 : 1);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;  // Tab, arrows and Enter move through every widget
  const std::string ini_path = (config_dir() / "imgui.ini").string();
  io.IniFilename = scripted ? nullptr : ini_path.c_str();
  if (!scripted) std::filesystem::create_directories(config_dir());
  float xscale = 1, yscale = 1;
  glfwGetWindowContentScale(glfw.window, &xscale, &yscale);
  app.ui_scale = app.settings.ui_scale > 0 ? app.settings.ui_scale : std::max(1.0f, std::max(xscale, yscale));
  app.fonts = load_fonts(app.ui_scale);
  apply_theme(app.settings.dark_theme, app.ui_scale);
  ImGui_ImplGlfw_InitForOpenGL(glfw.window, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");

  int exit_code = 0;
  if (script) {
    // Played until done or failed; the report says which. Its exit code is the report's "ok".
    while (!glfwWindowShouldClose(glfw.window)) {
      glfwPollEvents();
      frame(glfw.window, app, "", script.get());
      if (script->after_frame(app)) break;
      if (app.runner->running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    script->write_report(app, options.report_json);
    exit_code = script->finished_ok() ? 0 : 1;
    app.runner->cancel();
    app.runner->wait(30.0);
  } else if (!options.tour_dir.empty()) {
    exit_code = run_tour(glfw.window, app, options.tour_dir, options.bench_frames,
                         [&](const std::string& png) { return frame(glfw.window, app, png).build_cpu_ms; });
  } else {
    LiveHooks hooks;
    if (!options.prompt.empty() || !options.prompts_file.empty()) {
      RunRequest request;
      request.model_dir = options.model_dir;
      request.prompt = options.prompt;
      request.tag = "custom";
      if (!options.prompts_file.empty()) request.batch = sessions::load_prompt_set(options.prompts_file);
      request.max_new_tokens = options.max_new_tokens;
      request.session_file = options.session_file;
      app.runner->start(request);
      app.view = ViewId::run;
      hooks.active = true;
      hooks.started = std::chrono::steady_clock::now();
    }
    auto last_frame = std::chrono::steady_clock::now();
    while (!glfwWindowShouldClose(glfw.window)) {
      const bool busy = app.runner->running() || hooks.active;
      if (busy) {
        glfwPollEvents();
      } else {
        glfwWaitEventsTimeout(0.5);
      }
      frame(glfw.window, app, "");
      const auto now = std::chrono::steady_clock::now();
      if (hooks.active) {
        const double since = std::chrono::duration<double>(now - hooks.started).count();
        if (app.runner->running()) {
          // The first frames build the font atlas and compile shaders; steady drawing is what counts.
          if (++hooks.frames_while_running > 2) {
            hooks.max_frame_gap_ms = std::max(hooks.max_frame_gap_ms, std::chrono::duration<double, std::milli>(now - last_frame).count());
          }
          hooks.running_s = since;
        }
        if (options.cancel_after_s >= 0 && since >= options.cancel_after_s && !hooks.cancel_sent) {
          hooks.cancel_sent = true;
          app.runner->cancel();
        }
        if (options.close_after_s >= 0 && since >= options.close_after_s && !hooks.close_sent) {
          hooks.close_sent = true;
          glfwSetWindowShouldClose(glfw.window, GLFW_TRUE);
        }
        if (!app.runner->running() && options.close_after_s < 0) glfwSetWindowShouldClose(glfw.window, GLFW_TRUE);
      }
      last_frame = now;
    }
    // Closing mid-run: cancel and wait, so the session keeps every completed step.
    app.runner->cancel();
    app.runner->wait(30.0);
    if (auto outcome = app.runner->take_outcome()) {
      hooks.cancel_latency_s = outcome->cancel_latency_s;
      hooks.outcome = outcome->cancelled ? "cancelled" : outcome->error.empty() ? "complete" : "failed: " + outcome->error;
    } else if (!app.live_outcome.empty()) {
      hooks.outcome = app.live_outcome;
      hooks.cancel_latency_s = app.live_cancel_latency_s;
    }
    if (!options.report_json.empty()) {
      nlohmann::json report = {{"frames_while_running", hooks.frames_while_running},
                               {"running_s", hooks.running_s},
                               {"max_frame_gap_ms", hooks.max_frame_gap_ms},
                               {"cancel_latency_s", hooks.cancel_latency_s},
                               {"outcome", hooks.outcome}};
      std::ofstream(options.report_json) << report.dump(2) << '\n';
    }
  }

  for (HeatmapSlot* slot : {&app.heat_scores, &app.heat_load, &app.heat_top1, &app.heat_coact, &app.heat_diff}) slot->release();
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  if (!scripted) {
    glfwGetWindowSize(glfw.window, &app.settings.window_width, &app.settings.window_height);
    try {
      save_settings(app.settings, settings_file);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "moescope: warning: %s\n", e.what());
    }
  }
  return exit_code;
}

}  // namespace moescope::ui

// moescope: the GUI (no verb, or `gui`) and the CLI verbs in one binary. Every error from user data
// ends here as one line on stderr and a non-zero exit code.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <string_view>
#include <vector>

#include "app/verb_registry.h"
#include "core/engine_factory.h"
#include "core/error.h"
#include "core/terminal_text.h"
#ifdef MOESCOPE_HAVE_CUDA
#include "gpu/cuda_engine.h"
#endif

int main(int argc, char** argv) {
#ifdef MOESCOPE_HAVE_CUDA
  moescope::register_cuda_engine_factory(
      [](const moescope::Model& model, const moescope::EngineOptions& options) {
        return moescope::make_cuda_engine(model, options);
      });
#endif
  CLI::App app{"moescope: see inside Mixture-of-Experts models while they run"};
  app.require_subcommand(0, 1);
  auto& verbs = moescope::verb_registry();
  std::sort(verbs.begin(), verbs.end(),
            [](const auto& a, const auto& b) { return std::string_view(a.name) < b.name; });
  for (const auto& verb : verbs) verb.add(app);
  // No verb: the GUI when it is built, else the help text.
  const bool has_gui = std::any_of(verbs.begin(), verbs.end(),
                                   [](const auto& v) { return std::string_view(v.name) == "gui"; });
  std::vector<char*> args(argv, argv + argc);
  static char gui_verb[] = "gui";
  if (argc == 1 && has_gui) args.push_back(gui_verb);
  try {
    app.parse(static_cast<int>(args.size()), args.data());
    if (app.get_subcommands().empty()) std::fputs(app.help().c_str(), stdout);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const moescope::ExitWith& e) {
    return e.code;
  } catch (const std::bad_alloc&) {
    // Allocations sized by user data are checked where they are made and say what they are for;
    // one that still fails here (the machine is short of memory) gets a line, not "std::bad_alloc".
    std::fputs(
        "moescope: error: out of memory (the machine could not provide the memory this command "
        "needed; try a smaller model, prompt or session)\n",
        stderr);
    return 1;
  } catch (const std::exception& e) {
    // Messages quote file contents and user values: escaped so they cannot drive the terminal.
    std::fprintf(stderr, "moescope: error: %s\n", moescope::terminal_safe(e.what()).c_str());
    return 1;
  }
  return 0;
}

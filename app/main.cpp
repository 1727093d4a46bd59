// moescope: the GUI (no verb, or `gui`) and the CLI verbs in one binary. Every error from user data
// ends here as one line on stderr and a non-zero exit code.
#include <algorithm>
#include <cstdio>
#include <exception>

#include "app/verb_registry.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"moescope: see inside Mixture-of-Experts models while they run"};
  app.require_subcommand(0, 1);
  auto& verbs = moescope::verb_registry();
  std::sort(verbs.begin(), verbs.end(),
            [](const auto& a, const auto& b) { return std::string_view(a.name) < b.name; });
  for (const auto& verb : verbs) verb.add(app);
  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      // No verb: the GUI when it is built, else the help text.
      if (CLI::App* gui = app.get_subcommand_no_throw("gui")) {
        gui->parse(std::vector<std::string>{});
      } else {
        std::fputs(app.help().c_str(), stdout);
      }
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const moescope::ExitWith& e) {
    return e.code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moescope: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

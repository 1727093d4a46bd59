// CLI verbs register themselves here, one file per verb (app/verb_<name>.cpp), so adding a verb
// touches no shared file. A verb's callback throws on failure; main() turns that into one line.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

namespace moescope {

struct VerbRegistration {
  const char* name;
  void (*add)(CLI::App& app);  // adds the subcommand with its options and callback
};

std::vector<VerbRegistration>& verb_registry();
int register_verb(VerbRegistration verb);

// Thrown by a verb that must end with a specific exit code (after printing its own message).
struct ExitWith {
  int code;
};

}  // namespace moescope

#define MOESCOPE_REGISTER_VERB(name, add_fn) \
  static const int moescope_verb_registered_##name = ::moescope::register_verb({#name, add_fn})

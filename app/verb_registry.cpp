#include "app/verb_registry.h"

namespace moescope {

std::vector<VerbRegistration>& verb_registry() {
  static std::vector<VerbRegistration> verbs;
  return verbs;
}

int register_verb(VerbRegistration verb) {
  verb_registry().push_back(verb);
  return static_cast<int>(verb_registry().size());
}

}  // namespace moescope

#include "core/terminal_text.h"

#include "core/escaped_text.h"

namespace moescope {

std::string terminal_safe(std::string_view text, bool multi_line) {
  return escape_text(text, {.keep_newlines_and_tabs = multi_line, .escape_bidi_controls = true});
}

}  // namespace moescope

// Text from user data (tags, prompts, paths, error messages quoting a file's content) or from a
// model, made safe to print on a terminal: a tag holding "\x1b]0;...\a" or "\x1b[2J" must show as
// text, not retitle or clear the user's terminal. Every human-readable output of the CLI prints
// such text through here.
#pragma once

#include <string>
#include <string_view>

namespace moescope {

// Control characters (C0, DEL, C1), bidirectional-override characters (which reorder what the
// terminal shows) and bytes outside well-formed UTF-8 become visible escapes: \n \t \r, \xNN and
// \u00NN / \u202E. With `multi_line`, newlines and tabs are kept (a model's continuation may be
// code); everything else prints as itself.
std::string terminal_safe(std::string_view text, bool multi_line = false);

}  // namespace moescope

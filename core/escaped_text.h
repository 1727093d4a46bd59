// The one loop that makes text visible: control characters and bytes outside well-formed UTF-8
// become escapes (\n \t \r, \xNN, \u00NN), everything else is kept. Terminal output
// (core/terminal_text.h) and token display text (core/tokenizer/display_text.h) are this loop with
// their own choices below.
#pragma once

#include <string>
#include <string_view>

namespace moescope {

struct TextEscapes {
  bool space_marker = false;           // ' ' as "␣" (U+2423): a token's spaces must show
  bool keep_newlines_and_tabs = false;  // '\n' and '\t' as themselves (multi-line output)
  bool escape_bidi_controls = false;    // U+202A..U+202E, U+2066..U+2069 as \uXXXX
};

std::string escape_text(std::string_view text, const TextEscapes& escapes);

}  // namespace moescope

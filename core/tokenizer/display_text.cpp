#include "core/tokenizer/display_text.h"

#include "core/escaped_text.h"

namespace moescope {

std::string display_text_from_bytes(std::string_view bytes) { return escape_text(bytes, {.space_marker = true}); }

std::string display_text_of_unknown_id(int32_t id) { return "<unknown id " + std::to_string(id) + ">"; }

}  // namespace moescope

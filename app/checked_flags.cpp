#include "app/checked_flags.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace moescope {
namespace {

std::string bound_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

}  // namespace

CLI::Validator finite_number_in(double min, double max) {
  const std::string range = "[" + bound_text(min) + ", " + bound_text(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        double value = 0;
        // from_chars takes no hexadecimal without a format flag, no leading '+' and no spaces.
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        const bool whole = error == std::errc() && end == text.data() + text.size() && !text.empty();
        if (!whole || !std::isfinite(value) || value < min || value > max)
          return "must be a finite number in " + range + ", got '" + text + "'";
        return {};
      },
      "NUMBER in " + range);
}

CLI::Validator integer_in(int64_t min, int64_t max) {
  const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        int64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
        const bool whole = error == std::errc() && end == text.data() + text.size() && !text.empty();
        if (!whole || value < min || value > max)
          return "must be an integer in " + range + ", got '" + text + "'";
        return {};
      },
      "INT in " + range);
}

}  // namespace moescope

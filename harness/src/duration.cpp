// Durations as people type them ("250ms", "1.5s", "24h") and as traces print
// them ("850ms", "3m10s").
#include "cleanroom/duration.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace cleanroom {
namespace {

constexpr const char* kAcceptedForms =
    "use <number><unit> with unit ms, s, m, h or d, e.g. 250ms, 90s, 1.5s, 30m, 24h, 2d";

// Longest duration accepted: about 100 years, far below milliseconds' range.
constexpr double kMaxMillis = 100.0 * 365 * 24 * 3600 * 1000;

std::optional<double> millisPerUnit(std::string_view unit) {
  if (unit == "ms") return 1.0;
  if (unit == "s") return 1000.0;
  if (unit == "m") return 60.0 * 1000;
  if (unit == "h") return 3600.0 * 1000;
  if (unit == "d") return 24.0 * 3600 * 1000;
  return std::nullopt;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Returns the length of the leading "<digits>[.<digits>]" of `text`, or 0.
size_t numberLength(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && isDigit(text[i])) ++i;
  if (i == 0) return 0;
  if (i < text.size() && text[i] == '.') {
    size_t fractionStart = ++i;
    while (i < text.size() && isDigit(text[i])) ++i;
    if (i == fractionStart) return 0;  // "1." has no fraction digits
  }
  return i;
}

Error invalid(std::string_view text, std::string_view what, std::string_view why) {
  return Error::permanent(std::string(what) + ": \"" + std::string(text) + "\" " + std::string(why) + "; " +
                          kAcceptedForms);
}

std::string fractionalSeconds(int64_t ms) {
  std::string text = std::to_string(ms / 1000);
  int64_t fraction = ms % 1000;
  if (fraction == 0) return text + "s";
  std::string digits = std::to_string(1000 + fraction).substr(1);  // zero-padded to 3
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return text + "." + digits + "s";
}

std::string twoUnits(int64_t big, const char* bigUnit, int64_t small, const char* smallUnit) {
  std::string text = std::to_string(big) + bigUnit;
  if (small != 0) text += std::to_string(small) + smallUnit;
  return text;
}

}  // namespace

Result<milliseconds> parseDuration(std::string_view text, std::string_view what) {
  if (text.empty()) return invalid(text, what, "is empty");
  if (text.front() == '-') return invalid(text, what, "is negative");
  size_t length = numberLength(text);
  if (length == 0) return invalid(text, what, "does not start with a number");
  std::string_view unitText = text.substr(length);
  if (unitText.empty()) return invalid(text, what, "has no unit");
  std::optional<double> unit = millisPerUnit(unitText);
  if (!unit) return invalid(text, what, "has an unknown unit \"" + std::string(unitText) + "\"");

  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + length, number);
  if (ec != std::errc() || end != text.data() + length) return invalid(text, what, "is not a number");
  double millis = number * *unit;
  if (millis > kMaxMillis) return invalid(text, what, "is too long (100 years at most)");
  return milliseconds(static_cast<int64_t>(std::llround(millis)));
}

std::string formatDuration(milliseconds d) {
  int64_t ms = d.count();
  if (ms < 0) return "-" + formatDuration(milliseconds(-ms));
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000) return fractionalSeconds(ms);
  int64_t seconds = ms / 1000;
  if (seconds < 3600) return twoUnits(seconds / 60, "m", seconds % 60, "s");
  int64_t minutes = seconds / 60;
  if (minutes < 24 * 60) return twoUnits(minutes / 60, "h", minutes % 60, "m");
  int64_t hours = minutes / 60;
  return twoUnits(hours / 24, "d", hours % 24, "h");
}

}  // namespace cleanroom

// Durations as people type them: "250ms", "90s", "30m", "24h", "2d".
#pragma once

#include <string>
#include <string_view>

#include "cleanroom/clock.h"
#include "cleanroom/result.h"

namespace cleanroom {

// Parses "<number><unit>" with unit ms, s, m, h or d (a fraction is allowed:
// "1.5s"). Returns a Permanent error naming `what` and the accepted forms for
// anything else, including a bare number.
Result<milliseconds> parseDuration(std::string_view text, std::string_view what = "duration");

// Returns a short form: "850ms", "2.5s", "3m10s", "5h2m", "2d3h".
std::string formatDuration(milliseconds d);

}  // namespace cleanroom

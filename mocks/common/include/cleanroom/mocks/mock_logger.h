// The spdlog logger shared by every mock: named "cleanroom.mock", writing to
// stderr. Its level starts from CLEANROOM_LOG (trace|debug|info|warn|error|off,
// default warn); mock executables set it from --log-level.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace cleanroom::mocks {

// Returns the "cleanroom.mock" logger, creating it on first use. Thread-safe.
std::shared_ptr<spdlog::logger> mockLogger();

// Sets the logger's level from a name; returns false (level unchanged) for an
// unknown name.
bool setMockLogLevel(std::string_view levelName);

}  // namespace cleanroom::mocks

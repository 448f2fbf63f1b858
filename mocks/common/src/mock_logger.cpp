#include "cleanroom/mocks/mock_logger.h"

#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace cleanroom::mocks {
namespace {

constexpr const char* kLoggerName = "cleanroom.mock";

std::optional<spdlog::level::level_enum> levelFromName(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "off") return spdlog::level::off;
  return std::nullopt;
}

}  // namespace

std::shared_ptr<spdlog::logger> mockLogger() {
  static std::mutex creation;
  std::lock_guard lock(creation);
  if (auto existing = spdlog::get(kLoggerName)) return existing;
  auto logger = spdlog::stderr_color_mt(kLoggerName);
  const char* fromEnv = std::getenv("CLEANROOM_LOG");
  auto level = fromEnv ? levelFromName(fromEnv) : std::nullopt;
  logger->set_level(level.value_or(spdlog::level::warn));
  return logger;
}

bool setMockLogLevel(std::string_view levelName) {
  auto level = levelFromName(levelName);
  if (!level) return false;
  mockLogger()->set_level(*level);
  return true;
}

}  // namespace cleanroom::mocks

#include "cleanroom/mocks/docker/container.h"

#include <charconv>

namespace cleanroom::mocks::docker {
namespace {

constexpr std::string_view kPrefix = "CLEANROOM_MOCK_";

std::optional<std::int64_t> parseInteger(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

ParseResult<std::int64_t> parseMilliseconds(const std::string& name, std::string_view value,
                                            std::int64_t max = 86400000) {
  const auto parsed = parseInteger(value);
  if (!parsed || *parsed < 0 || *parsed > max) {
    return ParseResult<std::int64_t>::error("Env", "Env: " + name + " must be milliseconds from 0 to " +
                                                       std::to_string(max) + "; got \"" + std::string(value) + "\"");
  }
  return ParseResult<std::int64_t>::ok(*parsed);
}

// Applies one CLEANROOM_MOCK_* variable to `behavior`; returns "" or the error.
std::string apply(const std::string& name, std::string_view value, ContainerBehavior& behavior) {
  if (name == "CLEANROOM_MOCK_RUN_MS" || name == "CLEANROOM_MOCK_EXIT_DELAY_MS") {
    auto ms = parseMilliseconds(name, value);
    if (!ms) return ms.message();
    if (name == "CLEANROOM_MOCK_RUN_MS") {
      behavior.runMs = ms.value();
    } else {
      behavior.exitDelayMs = ms.value();
    }
    return {};
  }
  if (name == "CLEANROOM_MOCK_EXIT_CODE") {
    const auto code = parseInteger(value);
    if (!code || *code < 0 || *code > 255) {
      return "Env: CLEANROOM_MOCK_EXIT_CODE must be an integer from 0 to 255; got \"" + std::string(value) + "\"";
    }
    behavior.exitCode = static_cast<int>(*code);
    return {};
  }
  if (name == "CLEANROOM_MOCK_IGNORE_SIGTERM") {
    if (value != "1" && value != "true" && value != "0" && value != "false") {
      return "Env: CLEANROOM_MOCK_IGNORE_SIGTERM must be 1, true, 0 or false; got \"" + std::string(value) + "\"";
    }
    behavior.ignoreSigterm = value == "1" || value == "true";
    return {};
  }
  if (name == "CLEANROOM_MOCK_AGE_MS") {
    auto ms = parseMilliseconds(name, value, 30LL * 86400000);
    if (!ms) return ms.message();
    behavior.ageMs = ms.value();
    return {};
  }
  if (name == "CLEANROOM_MOCK_STDOUT") {
    behavior.stdoutText = value;
    return {};
  }
  if (name == "CLEANROOM_MOCK_STDERR") {
    behavior.stderrText = value;
    return {};
  }
  return "Env: unknown mock variable " + name +
         "; known: CLEANROOM_MOCK_RUN_MS, CLEANROOM_MOCK_EXIT_CODE, CLEANROOM_MOCK_EXIT_DELAY_MS, "
         "CLEANROOM_MOCK_IGNORE_SIGTERM, CLEANROOM_MOCK_STDOUT, CLEANROOM_MOCK_STDERR, CLEANROOM_MOCK_AGE_MS";
}

}  // namespace

ParseResult<ContainerBehavior> ContainerBehavior::fromEnv(const std::vector<std::string>& env) {
  ContainerBehavior behavior;
  for (const auto& entry : env) {
    if (entry.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    const auto equals = entry.find('=');
    const std::string name = entry.substr(0, equals);
    const std::string_view value =
        equals == std::string::npos ? std::string_view() : std::string_view(entry).substr(equals + 1);
    const std::string error = apply(name, value, behavior);
    if (!error.empty()) return ParseResult<ContainerBehavior>::error("Env", error);
  }
  return ParseResult<ContainerBehavior>::ok(std::move(behavior));
}

std::string_view statusName(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::created: return "created";
    case ContainerStatus::running: return "running";
    case ContainerStatus::exited: return "exited";
  }
  return "unknown";
}

std::string Container::path() const {
  if (!spec.entrypoint.empty()) return spec.entrypoint.front();
  return spec.cmd.empty() ? std::string() : spec.cmd.front();
}

std::vector<std::string> Container::args() const {
  std::vector<std::string> all = spec.entrypoint;
  all.insert(all.end(), spec.cmd.begin(), spec.cmd.end());
  if (!all.empty()) all.erase(all.begin());
  return all;
}

}  // namespace cleanroom::mocks::docker

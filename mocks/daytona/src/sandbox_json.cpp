#include "cleanroom/mocks/daytona/sandbox_json.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace cleanroom::mocks::daytona {
namespace {

using nlohmann::json;
using SystemClock = std::chrono::system_clock;

constexpr std::int64_t kMaxMs = 24LL * 60 * 60 * 1000;        // delays: one day
constexpr std::int64_t kMaxAgeMs = 3650LL * 24 * 60 * 60 * 1000;  // ageMs: ten years
const char* const kBehaviorFields =
    "stopDelayMs, deleteDelayMs, startDelayMs, archiveDelayMs, stuck, createdAt, ageMs, state, errorReason";

std::string shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

template <class T>
ParseResult<T> fieldError(const std::string& field, const std::string& what) {
  return ParseResult<T>::error(field, field + " " + what);
}

std::optional<std::int64_t> wholeMilliseconds(const json& value, std::int64_t max) {
  if (!value.is_number()) return std::nullopt;
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < 0 || number > static_cast<double>(max)) return std::nullopt;
  return static_cast<std::int64_t>(number);
}

ParseResult<std::map<std::string, std::string>> stringMap(const std::string& field, const json& value) {
  using Out = std::map<std::string, std::string>;
  if (!value.is_object()) return fieldError<Out>(field, "must be an object of strings; got " + shown(value));
  Out out;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) return fieldError<Out>(field + "." + key, "must be a string; got " + shown(item));
    out[key] = item.get<std::string>();
  }
  return ParseResult<Out>::ok(std::move(out));
}

ParseResult<SandboxBehavior> parseDelay(const std::string& key, const json& value, SandboxBehavior behavior) {
  auto ms = wholeMilliseconds(value, kMaxMs);
  if (!ms) {
    return fieldError<SandboxBehavior>("cleanroom." + key,
                                       "must be a number of milliseconds from 0 to 86400000; got " + shown(value));
  }
  if (key == "stopDelayMs") behavior.stopDelayMs = *ms;
  if (key == "deleteDelayMs") behavior.deleteDelayMs = *ms;
  if (key == "startDelayMs") behavior.startDelayMs = *ms;
  if (key == "archiveDelayMs") behavior.archiveDelayMs = *ms;
  return ParseResult<SandboxBehavior>::ok(std::move(behavior));
}

ParseResult<SandboxBehavior> parseInitialState(const json& value, SandboxBehavior behavior) {
  const std::string expected = "must be one of started, stopped, archived, error, build_failed; got ";
  if (!value.is_string()) return fieldError<SandboxBehavior>("cleanroom.state", expected + shown(value));
  auto state = sandboxStateFromString(value.get<std::string>());
  const bool allowed = state && (*state == SandboxState::started || *state == SandboxState::stopped ||
                                 *state == SandboxState::archived || isErrored(*state));
  if (!allowed) return fieldError<SandboxBehavior>("cleanroom.state", expected + shown(value));
  behavior.state = *state;
  return ParseResult<SandboxBehavior>::ok(std::move(behavior));
}

ParseResult<SandboxBehavior> parseCreatedAt(const std::string& key, const json& value, SandboxBehavior behavior) {
  if (key == "ageMs") {
    auto ms = wholeMilliseconds(value, kMaxAgeMs);
    if (!ms) return fieldError<SandboxBehavior>("cleanroom.ageMs", "must be a number of milliseconds >= 0; got " + shown(value));
    behavior.createdAt = SystemClock::now() - std::chrono::milliseconds(*ms);
    return ParseResult<SandboxBehavior>::ok(std::move(behavior));
  }
  std::optional<SystemClock::time_point> time;
  if (value.is_string()) time = parseIsoTimestamp(value.get<std::string>());
  if (!time) {
    return fieldError<SandboxBehavior>("cleanroom.createdAt",
                                       "must be an ISO-8601 UTC time like \"2026-01-02T03:04:05Z\"; got " + shown(value));
  }
  behavior.createdAt = *time;
  return ParseResult<SandboxBehavior>::ok(std::move(behavior));
}

ParseResult<SandboxBehavior> parseBehaviorField(const std::string& key, const json& value, SandboxBehavior behavior) {
  if (key == "stopDelayMs" || key == "deleteDelayMs" || key == "startDelayMs" || key == "archiveDelayMs") {
    return parseDelay(key, value, std::move(behavior));
  }
  if (key == "createdAt" || key == "ageMs") return parseCreatedAt(key, value, std::move(behavior));
  if (key == "state") return parseInitialState(value, std::move(behavior));
  if (key == "stuck") {
    if (!value.is_boolean()) return fieldError<SandboxBehavior>("cleanroom.stuck", "must be true or false; got " + shown(value));
    behavior.stuck = value.get<bool>();
    return ParseResult<SandboxBehavior>::ok(std::move(behavior));
  }
  if (key == "errorReason") {
    if (!value.is_string()) return fieldError<SandboxBehavior>("cleanroom.errorReason", "must be a string; got " + shown(value));
    behavior.errorReason = value.get<std::string>();
    return ParseResult<SandboxBehavior>::ok(std::move(behavior));
  }
  return fieldError<SandboxBehavior>("cleanroom." + key, std::string("is not a known field; known: ") + kBehaviorFields);
}

ParseResult<SandboxSpec> parseSpecField(const std::string& key, const json& value, SandboxSpec spec) {
  if (key == "name" || key == "snapshot") {
    if (!value.is_string() && !value.is_null()) return fieldError<SandboxSpec>(key, "must be a string; got " + shown(value));
    (key == "name" ? spec.name : spec.snapshot) = value.is_string() ? value.get<std::string>() : "";
    return ParseResult<SandboxSpec>::ok(std::move(spec));
  }
  if (key == "labels" || key == "env") {
    auto map = stringMap(key, value);
    if (!map) return ParseResult<SandboxSpec>::from(map);
    (key == "labels" ? spec.labels : spec.env) = std::move(map).value();
    return ParseResult<SandboxSpec>::ok(std::move(spec));
  }
  if (key == "cleanroom") {
    auto behavior = parseSandboxBehavior(value);
    if (!behavior) return ParseResult<SandboxSpec>::from(behavior);
    spec.behavior = std::move(behavior).value();
  }
  return ParseResult<SandboxSpec>::ok(std::move(spec));  // other Daytona fields: accepted, ignored
}

}  // namespace

ParseResult<SandboxBehavior> parseSandboxBehavior(const json& behavior) {
  if (!behavior.is_object()) {
    return fieldError<SandboxBehavior>("cleanroom", "must be an object like {\"stopDelayMs\": 300}; got " + shown(behavior));
  }
  SandboxBehavior out;
  for (const auto& [key, value] : behavior.items()) {
    auto next = parseBehaviorField(key, value, std::move(out));
    if (!next) return next;
    out = std::move(next).value();
  }
  return ParseResult<SandboxBehavior>::ok(std::move(out));
}

ParseResult<SandboxSpec> parseSandboxSpec(std::string_view body) {
  if (body.empty()) return ParseResult<SandboxSpec>::ok(SandboxSpec{});
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return ParseResult<SandboxSpec>::error("body", "body must be a JSON object like {\"labels\": {\"k\": \"v\"}}");
  }
  SandboxSpec spec;
  for (const auto& [key, value] : parsed.items()) {
    auto next = parseSpecField(key, value, std::move(spec));
    if (!next) return next;
    spec = std::move(next).value();
  }
  return ParseResult<SandboxSpec>::ok(std::move(spec));
}

static ParseResult<bool> parseBoolean(const HttpRequest& request, const std::string& name) {
  auto value = request.queryValue(name);
  if (!value || value->empty()) return ParseResult<bool>::ok(false);
  if (*value == "true" || *value == "1") return ParseResult<bool>::ok(true);
  if (*value == "false" || *value == "0") return ParseResult<bool>::ok(false);
  return ParseResult<bool>::error(name, name + " must be true or false; got \"" + *value + "\"");
}

ParseResult<SandboxFilter> parseSandboxFilter(const HttpRequest& request) {
  SandboxFilter filter;
  auto include = parseBoolean(request, "includeErroredDeleted");
  if (!include) return ParseResult<SandboxFilter>::from(include);
  filter.includeErroredDeleted = include.value();
  auto labels = request.queryValue("labels");
  if (!labels || labels->empty()) return ParseResult<SandboxFilter>::ok(std::move(filter));
  json parsed = json::parse(*labels, nullptr, false);
  if (parsed.is_discarded()) {
    return ParseResult<SandboxFilter>::error(
        "labels", "labels must be a URL-encoded JSON object like {\"cleanroom.run\":\"abc\"}; got " + *labels);
  }
  auto map = stringMap("labels", parsed);
  if (!map) return ParseResult<SandboxFilter>::from(map);
  filter.labels = std::move(map).value();
  return ParseResult<SandboxFilter>::ok(std::move(filter));
}

ParseResult<std::map<std::string, std::string>> parseLabelsBody(std::string_view body) {
  using Out = std::map<std::string, std::string>;
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("labels")) {
    return ParseResult<Out>::error("labels", "body must be {\"labels\": {\"key\": \"value\"}}");
  }
  return stringMap("labels", parsed["labels"]);
}

ParseResult<bool> parseForce(const HttpRequest& request) { return parseBoolean(request, "force"); }

json sandboxToJson(const Sandbox& sandbox) {
  json out = {
      {"id", sandbox.id},
      {"organizationId", "cleanroom-mock-org"},
      {"name", sandbox.spec.name},
      {"snapshot", sandbox.spec.snapshot.empty() ? "daytonaio/sandbox:latest" : sandbox.spec.snapshot},
      {"user", "daytona"},
      {"env", sandbox.spec.env},
      {"labels", sandbox.spec.labels},
      {"public", false},
      {"networkBlockAll", false},
      {"target", "us"},
      {"cpu", 1},
      {"gpu", 0},
      {"memory", 1},
      {"disk", 3},
      {"state", std::string(toString(sandbox.state))},
      {"desiredState", sandbox.desiredState},
      {"autoStopInterval", 15},
      {"autoArchiveInterval", 10080},
      {"autoDeleteInterval", -1},
      {"volumes", json::array()},
      {"class", "small"},
      {"createdAt", isoTimestamp(sandbox.createdAt)},
      {"updatedAt", isoTimestamp(sandbox.updatedAt)},
      {"lastActivityAt", isoTimestamp(sandbox.updatedAt)},
  };
  if (!sandbox.errorReason.empty()) out["errorReason"] = sandbox.errorReason;
  return out;
}

HttpResponse nestError(int status, const std::string& path, const std::string& message) {
  return HttpResponse::json(status, {{"statusCode", status},
                                     {"timestamp", isoTimestamp(SystemClock::now())},
                                     {"path", path},
                                     {"error", std::string(reasonPhrase(status))},
                                     {"message", message}});
}

std::string isoTimestamp(SystemClock::time_point time) {
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis % 1000));
  return text;
}

std::optional<SystemClock::time_point> parseIsoTimestamp(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6 || consumed != 19) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19);
  int millis = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int scale = 100;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      millis += (rest.front() - '0') * scale;
      scale /= 10;
      rest.remove_prefix(1);
    }
  }
  if (rest != "Z") return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return SystemClock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(millis);
}

}  // namespace cleanroom::mocks::daytona

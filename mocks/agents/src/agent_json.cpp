#include "cleanroom/mocks/agents/agent_json.h"

#include <cmath>
#include <ctime>

#include <spdlog/fmt/fmt.h>

namespace cleanroom::mocks {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxMs = 24LL * 60 * 60 * 1000;  // one day

const char* const kBehaviorFields = "runMs, outcome, exitDelayMs, ignoreSigterm, realProcess, lingerMs, startMs";

std::string shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

template <class T>
ParseResult<T> fieldError(const std::string& field, const std::string& what) {
  return ParseResult<T>::error(field, field + " " + what);
}

// Returns a whole number of milliseconds in [0, one day] from a JSON number.
std::optional<std::int64_t> wholeMilliseconds(const json& value) {
  if (!value.is_number()) return std::nullopt;
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < 0 || number > static_cast<double>(kMaxMs)) return std::nullopt;
  return static_cast<std::int64_t>(number);
}

ParseResult<AgentBehavior> parseDuration(const std::string& key, const json& value,
                                         AgentBehavior behavior) {
  auto ms = wholeMilliseconds(value);
  if (!ms) {
    return fieldError<AgentBehavior>("behavior." + key,
                                     "must be a number of milliseconds from 0 to 86400000; got " + shown(value));
  }
  if (key == "runMs") behavior.runMs = *ms;
  if (key == "lingerMs") behavior.lingerMs = *ms;
  if (key == "startMs") behavior.startMs = *ms;
  return ParseResult<AgentBehavior>::ok(std::move(behavior));
}

ParseResult<AgentBehavior> parseExitDelay(const json& value, AgentBehavior behavior) {
  const std::string field = "behavior.exitDelayMs";
  const std::string expected = "must be a number of milliseconds or [min, max] (0 <= min <= max <= 86400000); got ";
  if (auto ms = wholeMilliseconds(value)) {
    behavior.exitDelayMinMs = behavior.exitDelayMaxMs = *ms;
    return ParseResult<AgentBehavior>::ok(std::move(behavior));
  }
  if (!value.is_array() || value.size() != 2) return fieldError<AgentBehavior>(field, expected + shown(value));
  auto low = wholeMilliseconds(value[0]);
  auto high = wholeMilliseconds(value[1]);
  if (!low || !high || *low > *high) return fieldError<AgentBehavior>(field, expected + shown(value));
  behavior.exitDelayMinMs = *low;
  behavior.exitDelayMaxMs = *high;
  return ParseResult<AgentBehavior>::ok(std::move(behavior));
}

ParseResult<AgentBehavior> parseBehaviorField(const std::string& key, const json& value,
                                              AgentBehavior behavior) {
  if (key == "runMs" || key == "lingerMs" || key == "startMs") {
    return parseDuration(key, value, std::move(behavior));
  }
  if (key == "exitDelayMs") return parseExitDelay(value, std::move(behavior));
  if (key == "outcome") {
    if (value == "completed" || value == "failed") {
      behavior.outcome = value == "failed" ? AgentOutcome::failed : AgentOutcome::completed;
      return ParseResult<AgentBehavior>::ok(std::move(behavior));
    }
    return fieldError<AgentBehavior>("behavior.outcome", "must be \"completed\" or \"failed\"; got " + shown(value));
  }
  if (key == "ignoreSigterm" || key == "realProcess") {
    if (!value.is_boolean()) {
      return fieldError<AgentBehavior>("behavior." + key, "must be true or false; got " + shown(value));
    }
    (key == "ignoreSigterm" ? behavior.ignoreSigterm : behavior.realProcess) = value.get<bool>();
    return ParseResult<AgentBehavior>::ok(std::move(behavior));
  }
  return fieldError<AgentBehavior>("behavior." + key,
                                   std::string("is not a behavior field; allowed: ") + kBehaviorFields);
}

ParseResult<std::map<std::string, std::string>> parseLabels(const json& value) {
  using Result = ParseResult<std::map<std::string, std::string>>;
  if (!value.is_object()) {
    return fieldError<std::map<std::string, std::string>>(
        "labels", "must be an object of string values, e.g. {\"cleanroom.run\": \"r1\"}; got " + shown(value));
  }
  std::map<std::string, std::string> labels;
  for (const auto& [key, label] : value.items()) {
    if (!label.is_string()) {
      return fieldError<std::map<std::string, std::string>>("labels." + key,
                                                            "must be a string; got " + shown(label));
    }
    labels[key] = label.get<std::string>();
  }
  return Result::ok(std::move(labels));
}

ParseResult<std::string> requiredString(const json& body, const std::string& field) {
  if (!body.contains(field)) {
    return fieldError<std::string>(field, "is required: a non-empty string");
  }
  const json& value = body[field];
  if (!value.is_string() || value.get<std::string>().empty()) {
    return fieldError<std::string>(field, "must be a non-empty string; got " + shown(value));
  }
  return ParseResult<std::string>::ok(value.get<std::string>());
}

std::optional<std::int64_t> wholeNumber(const std::string& text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t number = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + (c - '0');
  }
  return number;
}

}  // namespace

ParseResult<AgentBehavior> parseAgentBehavior(const json& value) {
  if (!value.is_object()) {
    return fieldError<AgentBehavior>("behavior", "must be an object with optional fields " +
                                                     std::string(kBehaviorFields) + "; got " + shown(value));
  }
  AgentBehavior behavior;
  for (const auto& [key, field] : value.items()) {
    auto parsed = parseBehaviorField(key, field, std::move(behavior));
    if (!parsed) return parsed;
    behavior = std::move(parsed).value();
  }
  return ParseResult<AgentBehavior>::ok(std::move(behavior));
}

ParseResult<AgentSpec> parseAgentSpec(std::string_view text) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) {
    return ParseResult<AgentSpec>::error(
        "body", "request body must be valid JSON like {\"type\": \"claude\", \"prompt\": \"...\"}");
  }
  if (!body.is_object()) {
    return ParseResult<AgentSpec>::error("body", "request body must be a JSON object; got " + shown(body));
  }
  AgentSpec spec;
  auto type = requiredString(body, "type");
  if (!type) return ParseResult<AgentSpec>::from(type);
  spec.type = type.value();
  auto prompt = requiredString(body, "prompt");
  if (!prompt) return ParseResult<AgentSpec>::from(prompt);
  spec.prompt = prompt.value();
  if (body.contains("name") && !body["name"].is_null()) {
    if (!body["name"].is_string()) return fieldError<AgentSpec>("name", "must be a string; got " + shown(body["name"]));
    spec.name = body["name"].get<std::string>();
  }
  if (body.contains("labels") && !body["labels"].is_null()) {
    auto labels = parseLabels(body["labels"]);
    if (!labels) return ParseResult<AgentSpec>::from(labels);
    spec.labels = std::move(labels).value();
  }
  if (body.contains("behavior") && !body["behavior"].is_null()) {
    auto behavior = parseAgentBehavior(body["behavior"]);
    if (!behavior) return ParseResult<AgentSpec>::from(behavior);
    spec.behavior = std::move(behavior).value();
  }
  return ParseResult<AgentSpec>::ok(std::move(spec));
}

ParseResult<AgentFilter> parseAgentFilter(const HttpRequest& request) {
  AgentFilter filter;
  for (const auto& label : request.queryValues("label")) {
    const auto eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fieldError<AgentFilter>("label", "must be KEY=VALUE (e.g. label=cleanroom.run%3Dr1); got \"" + label + "\"");
    }
    filter.labels.emplace_back(label.substr(0, eq), label.substr(eq + 1));
  }
  for (const auto& name : request.queryValues("status")) {
    auto status = agentStatusFromString(name);
    if (!status) {
      return fieldError<AgentFilter>(
          "status", "must be one of pending, running, terminating, completed, failed, terminated; got \"" + name + "\"");
    }
    filter.statuses.push_back(*status);
  }
  return ParseResult<AgentFilter>::ok(std::move(filter));
}

ParseResult<WaitRequest> parseWaitRequest(const HttpRequest& request) {
  WaitRequest wait;
  auto waitFor = request.queryValue("waitFor");
  if (!waitFor) return ParseResult<WaitRequest>::ok(wait);
  if (*waitFor != "terminal" && *waitFor != "gone") {
    return fieldError<WaitRequest>("waitFor", "must be \"terminal\" (or \"gone\"); got \"" + *waitFor + "\"");
  }
  wait.until = *waitFor == "terminal" ? WaitRequest::Until::terminal : WaitRequest::Until::gone;
  wait.timeout = kDefaultWaitTimeout;
  if (auto timeout = request.queryValue("timeoutMs")) {
    auto ms = wholeNumber(*timeout);
    if (!ms) {
      return fieldError<WaitRequest>("timeoutMs", "must be a whole number of milliseconds (at most " +
                                                      std::to_string(kMaxWaitTimeout.count()) +
                                                      " are used); got \"" + *timeout + "\"");
    }
    wait.timeout = std::min(std::chrono::milliseconds(*ms), kMaxWaitTimeout);
  }
  return ParseResult<WaitRequest>::ok(wait);
}

ParseResult<bool> parseForce(const HttpRequest& request) {
  auto force = request.queryValue("force");
  if (!force || *force == "false" || *force == "0") return ParseResult<bool>::ok(false);
  if (*force == "true" || *force == "1") return ParseResult<bool>::ok(true);
  return fieldError<bool>("force", "must be true or false; got \"" + *force + "\"");
}

std::string formatTimestamp(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

json agentToJson(const Agent& agent) {
  json out = {{"id", agent.id},
              {"type", agent.spec.type},
              {"name", agent.spec.name},
              {"prompt", agent.spec.prompt},
              {"status", toString(agent.status)},
              {"labels", agent.spec.labels},
              {"createdAt", formatTimestamp(agent.createdAt)},
              {"updatedAt", formatTimestamp(agent.updatedAt)}};
  if (agent.pid) out["pid"] = *agent.pid;
  if (agent.exitCode) out["exitCode"] = *agent.exitCode;
  if (!agent.statusReason.empty()) out["statusReason"] = agent.statusReason;
  return out;
}

}  // namespace cleanroom::mocks

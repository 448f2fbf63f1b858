#include "cleanroom/mocks/fault_rules.h"

#include <algorithm>
#include <cctype>

namespace cleanroom::mocks {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxDelayMs = 10 * 60 * 1000;

std::string shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

ParseResult<FaultRule> ruleError(const std::string& field, const std::string& what) {
  return ParseResult<FaultRule>::error(field, "fault rule: " + what);
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

bool isInteger(const json& value) { return value.is_number_integer() || value.is_number_unsigned(); }

ParseResult<FaultRule> parseMatch(const json& match, FaultRule rule) {
  if (!match.is_object()) {
    return ruleError("match", "'match' must be an object with optional 'method' and 'path'; got " +
                                  shown(match));
  }
  for (const auto& [key, value] : match.items()) {
    if (key == "method") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return ruleError("match.method", "'match.method' must be an HTTP method string like \"DELETE\"; got " +
                                             shown(value));
      }
      if (value != "*") rule.method = upper(value.get<std::string>());  // "*" = any method
    } else if (key == "path") {
      if (!value.is_string()) {
        return ruleError("match.path", "'match.path' must be a path glob string like \"/api/agents/*\"; got " +
                                           shown(value));
      }
      rule.pathGlob = value.get<std::string>();
    } else if (key == "operation") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return ruleError("match.operation", "'match.operation' must be an operation glob string like "
                                            "\"StopTask\" or \"ecs:*\"; got " + shown(value));
      }
      rule.operationGlob = value.get<std::string>();
    } else {
      return ruleError("match." + key, "unknown field 'match." + key + "'; allowed: method, path, operation");
    }
  }
  return ParseResult<FaultRule>::ok(std::move(rule));
}

ParseResult<FaultRule> checkCombination(FaultRule rule) {
  if (rule.drop && rule.status) {
    return ruleError("drop", "'drop' cannot be combined with 'status' (a dropped connection has no status); "
                             "remove one of them");
  }
  if (rule.retryAfterSeconds && !rule.status) {
    return ruleError("retryAfter", "'retryAfter' needs a 'status' (e.g. 503 or 429)");
  }
  if (rule.body && !rule.status) return ruleError("body", "'body' needs a 'status'");
  if (rule.errorCode && !rule.status) {
    return ruleError("errorCode", "'errorCode' needs a 'status' (e.g. 400 with \"ThrottlingException\")");
  }
  if (!rule.status && !rule.drop && rule.delayMs == 0) {
    return ruleError("status", "give at least one effect: 'status' (100-599), 'delayMs' (> 0) or 'drop' (true)");
  }
  return ParseResult<FaultRule>::ok(std::move(rule));
}

ParseResult<FaultRule> parseField(const std::string& key, const json& value, FaultRule rule) {
  if (key == "match") return parseMatch(value, std::move(rule));
  if (key == "status") {
    if (!isInteger(value) || value.get<std::int64_t>() < 100 || value.get<std::int64_t>() > 599) {
      return ruleError("status", "'status' must be an integer 100-599; got " + shown(value));
    }
    rule.status = value.get<int>();
  } else if (key == "count") {
    if (!isInteger(value) || value.get<std::int64_t>() < 1) {
      return ruleError("count", "'count' must be an integer >= 1 (omit it to apply to every request); got " +
                                    shown(value));
    }
    rule.count = value.get<std::int64_t>();
  } else if (key == "retryAfter") {
    if (!isInteger(value) || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > 86400) {
      return ruleError("retryAfter", "'retryAfter' must be a whole number of seconds 0-86400; got " +
                                         shown(value));
    }
    rule.retryAfterSeconds = value.get<int>();
  } else if (key == "body") {
    rule.body = value;
  } else if (key == "errorCode") {
    if (!value.is_string() || value.get<std::string>().empty()) {
      return ruleError("errorCode", "'errorCode' must be a non-empty error code string like "
                                    "\"ThrottlingException\"; got " + shown(value));
    }
    rule.errorCode = value.get<std::string>();
  } else if (key == "delayMs") {
    if (!isInteger(value) || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > kMaxDelayMs) {
      return ruleError("delayMs", "'delayMs' must be an integer number of milliseconds 0-600000; got " +
                                      shown(value));
    }
    rule.delayMs = value.get<std::int64_t>();
  } else if (key == "drop") {
    if (!value.is_boolean()) return ruleError("drop", "'drop' must be true or false; got " + shown(value));
    rule.drop = value.get<bool>();
  } else {
    return ruleError(key, "unknown field '" + key +
                              "'; allowed: match, status, count, retryAfter, body, errorCode, delayMs, drop");
  }
  return ParseResult<FaultRule>::ok(std::move(rule));
}

}  // namespace

ParseResult<FaultRule> FaultRule::fromJson(const json& value) {
  if (!value.is_object()) {
    return ruleError("rule", "each rule must be a JSON object like "
                             "{\"match\": {\"path\": \"/api/*\"}, \"status\": 503}; got " + shown(value));
  }
  FaultRule rule;
  for (const auto& [key, field] : value.items()) {
    auto parsed = parseField(key, field, std::move(rule));
    if (!parsed) return parsed;
    rule = std::move(parsed).value();
  }
  return checkCombination(std::move(rule));
}

json FaultRule::toJson() const {
  json match = json::object();
  if (method) match["method"] = *method;
  if (pathGlob) match["path"] = *pathGlob;
  if (operationGlob) match["operation"] = *operationGlob;
  json out = {{"match", match}};
  if (status) out["status"] = *status;
  if (retryAfterSeconds) out["retryAfter"] = *retryAfterSeconds;
  if (body) out["body"] = *body;
  if (errorCode) out["errorCode"] = *errorCode;
  if (delayMs > 0) out["delayMs"] = delayMs;
  if (drop) out["drop"] = true;
  out["count"] = count ? json(*count) : json(nullptr);
  return out;
}

bool FaultRule::matches(std::string_view requestMethod, std::string_view path,
                        std::string_view operation) const {
  if (method && upper(std::string(requestMethod)) != *method) return false;
  if (pathGlob && !globMatches(*pathGlob, path)) return false;
  if (!operationGlob) return true;
  if (operation.empty()) return false;
  if (operationGlob->find(':') != std::string::npos) return globMatches(*operationGlob, operation);
  const auto colon = operation.rfind(':');
  return globMatches(*operationGlob, colon == std::string_view::npos ? operation : operation.substr(colon + 1));
}

std::string FaultAction::describe() const {
  std::string text;
  auto append = [&](const std::string& part) { text += text.empty() ? part : ", " + part; };
  if (delayMs > 0) append("delay " + std::to_string(delayMs) + "ms");
  if (drop) append("drop");
  if (status) append("status " + std::to_string(*status) + (errorCode ? " " + *errorCode : ""));
  return text;
}

bool globMatches(std::string_view glob, std::string_view text) {
  std::size_t g = 0, t = 0;
  std::size_t starGlob = std::string_view::npos, starText = 0;
  while (t < text.size()) {
    if (g < glob.size() && glob[g] == '*') {
      starGlob = g++;
      starText = t;
    } else if (g < glob.size() && glob[g] == text[t]) {
      ++g;
      ++t;
    } else if (starGlob != std::string_view::npos) {
      g = starGlob + 1;
      t = ++starText;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

ParseResult<std::size_t> FaultRuleSet::addFromJson(const json& value) {
  std::vector<FaultRule> parsed;
  const json items = value.is_array() ? value : json::array({value});
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto rule = FaultRule::fromJson(items[i]);
    if (!rule) {
      std::string where = value.is_array() ? " (rule #" + std::to_string(i) + ")" : "";
      return ParseResult<std::size_t>::error(rule.field(), rule.message() + where);
    }
    parsed.push_back(std::move(rule).value());
  }
  std::lock_guard lock(mutex_);
  for (auto& rule : parsed) rules_.push_back(std::move(rule));
  return ParseResult<std::size_t>::ok(parsed.size());
}

void FaultRuleSet::add(FaultRule rule) {
  std::lock_guard lock(mutex_);
  rules_.push_back(std::move(rule));
}

void FaultRuleSet::clear() {
  std::lock_guard lock(mutex_);
  rules_.clear();
}

json FaultRuleSet::toJson() const {
  std::lock_guard lock(mutex_);
  json out = json::array();
  for (const auto& rule : rules_) out.push_back(rule.toJson());
  return out;
}

std::optional<FaultAction> FaultRuleSet::take(std::string_view method, std::string_view path,
                                              std::string_view operation) {
  std::lock_guard lock(mutex_);
  for (auto& rule : rules_) {
    if (rule.count && *rule.count <= 0) continue;
    if (!rule.matches(method, path, operation)) continue;
    if (rule.count) --*rule.count;
    return FaultAction{rule.delayMs, rule.drop, rule.status, rule.retryAfterSeconds, rule.body, rule.errorCode};
  }
  return std::nullopt;
}

}  // namespace cleanroom::mocks

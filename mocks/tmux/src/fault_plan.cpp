#include "cleanroom/mocks/tmux/fault_plan.h"

#include <algorithm>

#include "cleanroom/mocks/tmux/command_line.h"

namespace cleanroom::mocks::tmux {
namespace {

using Parsed = ParseResult<FaultRule>;

constexpr const char* kExample =
    R"(; send e.g. {"fail": 2, "command": "kill-session"}, {"hang_ms": 5000}, {"orphan": 1} or {"clear": true})";

Parsed fieldError(const std::string& field, const std::string& what) {
  return Parsed::error(field, "fault rule field \"" + field + "\" " + what + kExample);
}

std::optional<int> positiveCount(const nlohmann::json& rule, const char* field) {
  const auto& value = rule.at(field);
  if (!value.is_number_integer() || value.get<long long>() < 1 || value.get<long long>() > 1000000) {
    return std::nullopt;
  }
  return value.get<int>();
}

}  // namespace

ParseResult<FaultRule> parseFaultRule(const nlohmann::json& rule) {
  if (!rule.is_object()) return Parsed::error("rule", std::string("fault rule must be a JSON object") + kExample);
  for (const auto& [key, value] : rule.items()) {
    static const char* known[] = {"fail", "hang_ms", "orphan", "clear", "command", "message", "times"};
    if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return key == k; }) ==
        std::end(known)) {
      return fieldError(key, "is not a known field");
    }
  }
  FaultRule parsed;
  const int effects = static_cast<int>(rule.contains("fail")) + static_cast<int>(rule.contains("hang_ms")) +
                      static_cast<int>(rule.contains("orphan")) + static_cast<int>(rule.contains("clear"));
  if (effects != 1) {
    return Parsed::error("rule", std::string("fault rule needs exactly one of fail, hang_ms, orphan, clear") + kExample);
  }
  if (rule.contains("command")) {
    if (!rule["command"].is_string()) return fieldError("command", "must be a string");
    const auto name = canonicalCommandName(rule["command"].get<std::string>());
    if (!name) return fieldError("command", "names no supported tmux command");
    parsed.command = *name;
  }
  if (rule.contains("message")) {
    if (!rule["message"].is_string()) return fieldError("message", "must be a string");
    parsed.message = rule["message"].get<std::string>();
  }
  if (rule.contains("times")) {
    const auto times = positiveCount(rule, "times");
    if (!times) return fieldError("times", "must be an integer from 1 to 1000000");
    parsed.remaining = *times;
  }
  if (rule.contains("clear")) {
    parsed.kind = FaultKind::Clear;
  } else if (rule.contains("fail")) {
    const auto count = positiveCount(rule, "fail");
    if (!count) return fieldError("fail", "must be an integer from 1 to 1000000 (calls to fail)");
    parsed.kind = FaultKind::Fail;
    parsed.remaining = *count;
  } else if (rule.contains("orphan")) {
    const auto count = positiveCount(rule, "orphan");
    if (!count) return fieldError("orphan", "must be an integer from 1 to 1000000 (sessions)");
    parsed.kind = FaultKind::Orphan;
    parsed.remaining = *count;
  } else {
    const auto& hang = rule["hang_ms"];
    if (!hang.is_number_integer() || hang.get<long long>() < 0 || hang.get<long long>() > 3600000) {
      return fieldError("hang_ms", "must be an integer from 0 to 3600000 (milliseconds)");
    }
    parsed.kind = FaultKind::Hang;
    parsed.hang = std::chrono::milliseconds(hang.get<long long>());
  }
  return Parsed::ok(std::move(parsed));
}

ParseResult<std::vector<FaultRule>> parseFaultRules(const std::string& text) {
  using ParsedList = ParseResult<std::vector<FaultRule>>;
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return ParsedList::error("rule", std::string("fault rule is not valid JSON: ") + text + kExample);
  }
  std::vector<FaultRule> rules;
  const auto items = json.is_array() ? json : nlohmann::json::array({json});
  for (const auto& item : items) {
    auto rule = parseFaultRule(item);
    if (!rule) return ParsedList::from(rule);
    rules.push_back(std::move(rule).value());
  }
  return ParsedList::ok(std::move(rules));
}

void FaultPlan::arm(const FaultRule& rule) {
  if (rule.kind == FaultKind::Clear) {
    rules_.clear();
    return;
  }
  rules_.push_back(rule);
}

FaultRule* FaultPlan::firstMatching(FaultKind kind, const std::string& command) {
  for (auto& rule : rules_) {
    if (rule.kind != kind || rule.remaining <= 0) continue;
    if (rule.command.empty() || rule.command == command) return &rule;
  }
  return nullptr;
}

void FaultPlan::dropUsedUp() {
  std::erase_if(rules_, [](const FaultRule& rule) { return rule.remaining <= 0; });
}

FaultDecision FaultPlan::nextCall(const std::string& command) {
  FaultDecision decision;
  if (FaultRule* hang = firstMatching(FaultKind::Hang, command)) {
    decision.hang = hang->hang;
    --hang->remaining;
  }
  if (FaultRule* fail = firstMatching(FaultKind::Fail, command)) {
    decision.failure = fail->message;
    --fail->remaining;
  }
  dropUsedUp();
  return decision;
}

bool FaultPlan::takeOrphan() {
  FaultRule* orphan = firstMatching(FaultKind::Orphan, "new-session");
  if (orphan == nullptr) return false;
  --orphan->remaining;
  dropUsedUp();
  return true;
}

}  // namespace cleanroom::mocks::tmux

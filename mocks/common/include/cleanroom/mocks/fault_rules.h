// Fault injection for mocks: rules posted to POST /__cleanroom/faults make
// matching requests fail (status + optional Retry-After/body), slow down
// (delayMs) or lose their connection (drop). Rules are checked in insertion
// order; the first matching rule with a remaining count wins.
//
// Operations: mocks whose API is not path-shaped (AWS: every ECS call is
// "POST /") name each request's operation through
// MockHttpServer::onOperation, e.g. "ecs:StopTask". A rule may then match on
// it: {"match": {"operation": "StopTask"}} — a glob without ':' is matched
// against the part after the last ':', a glob with ':' ("ecs:*",
// "elasticloadbalancing:DeregisterTargets") against the whole name. A rule
// with an operation never matches a request without one.
// Error codes: {"status": 400, "errorCode": "ThrottlingException"} hands the
// code to the mock's fault-response hook (MockHttpServer::onFaultResponse),
// which shapes the answer in its protocol's error format.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/parse_result.h"

namespace cleanroom::mocks {

// One rule, e.g. {"match": {"method": "DELETE", "path": "/api/agents/*"},
// "status": 503, "count": 2, "retryAfter": 1}.
struct FaultRule {
  std::optional<std::string> method;    // match.method; nullopt = any (case-insensitive)
  std::optional<std::string> pathGlob;  // match.path; '*' matches any run of chars, '/' too
  std::optional<std::string> operationGlob;  // match.operation; see the file comment
  std::optional<int> status;            // answer with this status instead of serving
  std::optional<int> retryAfterSeconds; // Retry-After header on a status fault
  std::optional<nlohmann::json> body;   // body of a status fault (default: error object)
  std::optional<std::string> errorCode; // protocol error code for the mock's fault-response hook
  std::int64_t delayMs = 0;             // wait this long first, then go on
  bool drop = false;                    // close the connection without answering
  std::optional<std::int64_t> count;    // remaining uses; nullopt = unlimited

  // Returns the rule parsed from its JSON form, or an error naming the field,
  // e.g. "fault rule: 'status' must be an integer 100-599; got \"x\"".
  static ParseResult<FaultRule> fromJson(const nlohmann::json& json);
  // Returns the JSON form (with "count" = remaining uses, if limited).
  nlohmann::json toJson() const;
  // Returns true if and only if the rule's match selects (method, path,
  // operation); `operation` is "" when the mock names none.
  bool matches(std::string_view method, std::string_view path, std::string_view operation = {}) const;
};

// What the server must do to one request, as decided by the first matching rule.
struct FaultAction {
  std::int64_t delayMs = 0;
  bool drop = false;
  std::optional<int> status;
  std::optional<int> retryAfterSeconds;
  std::optional<nlohmann::json> body;
  std::optional<std::string> errorCode = std::nullopt;
  // Returns a short description for the request log, e.g. "status 503".
  std::string describe() const;
};

// Returns true if and only if `glob` ('*' = any run of characters) matches all of `text`.
bool globMatches(std::string_view glob, std::string_view text);

// Thread-safe ordered set of fault rules.
class FaultRuleSet {
 public:
  // Parses one rule object or an array of them and appends them all, or none
  // if any is invalid. Returns how many were added, or the first error.
  ParseResult<std::size_t> addFromJson(const nlohmann::json& json);
  // Appends one rule.
  void add(FaultRule rule);
  // Removes every rule.
  void clear();
  // Returns every rule as JSON, in order, with remaining counts.
  nlohmann::json toJson() const;
  // Returns the action of the first matching rule with uses left (consuming
  // one use), or nullopt when no rule applies. Never blocks on I/O.
  // `operation` is the mock's name for the request ("" when none).
  std::optional<FaultAction> take(std::string_view method, std::string_view path,
                                  std::string_view operation = {});

 private:
  mutable std::mutex mutex_;
  std::vector<FaultRule> rules_;
};

}  // namespace cleanroom::mocks

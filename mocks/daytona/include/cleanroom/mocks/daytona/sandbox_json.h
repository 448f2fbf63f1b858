// The wire format of the Daytona sandbox API mock (protocol-notes §7): parsing
// and validating requests into the model of sandbox.h, rendering sandboxes as
// Daytona's Sandbox JSON and errors as NestJS error bodies. Validation errors
// name the field and say what to send instead.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/daytona/sandbox.h"
#include "cleanroom/mocks/http_message.h"
#include "cleanroom/mocks/parse_result.h"

namespace cleanroom::mocks::daytona {

// Returns the spec of a POST /api/sandbox body: {name?, snapshot?, labels{},
// env{}, cleanroom{…}} (other Daytona fields are accepted and ignored), or an
// error naming the field ("body", "name", "labels.<key>", "cleanroom.<field>").
ParseResult<SandboxSpec> parseSandboxSpec(std::string_view body);
// Returns the mock-only "cleanroom" object: stopDelayMs, deleteDelayMs,
// startDelayMs, archiveDelayMs (0..86400000), stuck (bool), createdAt
// (ISO-8601 UTC, e.g. "2026-01-02T03:04:05Z") or ageMs (created this long
// ago), state (started|stopped|archived|error|build_failed), errorReason.
ParseResult<SandboxBehavior> parseSandboxBehavior(const nlohmann::json& behavior);
// Returns the filter of GET /api/sandbox: ?labels=<JSON object of strings>
// (URL-encoded) and ?includeErroredDeleted=true|false.
ParseResult<SandboxFilter> parseSandboxFilter(const HttpRequest& request);
// Returns the labels of a PUT /api/sandbox/{id}/labels body {"labels": {...}}.
ParseResult<std::map<std::string, std::string>> parseLabelsBody(std::string_view body);
// Returns the value of ?force=true|false|1|0 (false when absent).
ParseResult<bool> parseForce(const HttpRequest& request);

// Returns the sandbox as Daytona's Sandbox JSON (id, organizationId, name,
// snapshot, user, env, labels, public, target, cpu, gpu, memory, disk, state,
// desiredState, errorReason, createdAt, updatedAt, …).
nlohmann::json sandboxToJson(const Sandbox& sandbox);
// Returns a NestJS error response: {"statusCode", "timestamp", "path",
// "error" (reason phrase), "message"}.
HttpResponse nestError(int status, const std::string& path, const std::string& message);
// Returns `time` as ISO-8601 UTC with milliseconds, e.g. "2026-11-25T21:48:48.123Z".
std::string isoTimestamp(std::chrono::system_clock::time_point time);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC only); nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parseIsoTimestamp(std::string_view text);

}  // namespace cleanroom::mocks::daytona

// The wire format of the agent REST API mock: parsing and validating requests
// (POST body, query parameters) into the model of agent.h, and rendering agents
// as JSON. Validation errors name the field and say what to send instead.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/agents/agent.h"
#include "cleanroom/mocks/http_message.h"
#include "cleanroom/mocks/parse_result.h"

namespace cleanroom::mocks {

// Longest long-poll a client may ask for; larger timeoutMs values are capped.
inline constexpr std::chrono::milliseconds kMaxWaitTimeout{60000};
// Long-poll timeout when waitFor is given without timeoutMs.
inline constexpr std::chrono::milliseconds kDefaultWaitTimeout{30000};

// Returns the spec of a POST /api/agents body, or an error naming the field
// ("body", "type", "prompt", "name", "labels.<key>", "behavior.<field>").
ParseResult<AgentSpec> parseAgentSpec(std::string_view body);
// Returns the behavior parsed from the "behavior" object.
ParseResult<AgentBehavior> parseAgentBehavior(const nlohmann::json& behavior);
// Returns the filter of GET /api/agents (?label=k=v ... &status=S ...).
ParseResult<AgentFilter> parseAgentFilter(const HttpRequest& request);

// A parsed ?waitFor=terminal|gone&timeoutMs=N. "terminal" is the long-poll of
// the contract; "gone" (until the agent is purged or its linger time ends) is
// an extension for tests.
struct WaitRequest {
  enum class Until { none, terminal, gone };
  Until until = Until::none;
  std::chrono::milliseconds timeout{0};
};
// Returns the long-poll parameters of GET /api/agents/{id}.
ParseResult<WaitRequest> parseWaitRequest(const HttpRequest& request);
// Returns the value of ?force=true|false|1|0 (false when absent).
ParseResult<bool> parseForce(const HttpRequest& request);

// Returns the agent as JSON: id, type, name, prompt, status, labels, createdAt,
// updatedAt, and pid / exitCode / statusReason when known.
nlohmann::json agentToJson(const Agent& agent);
// Returns `time` as ISO-8601 UTC with milliseconds, e.g. "2026-11-25T21:48:48.123Z".
std::string formatTimestamp(std::chrono::system_clock::time_point time);

}  // namespace cleanroom::mocks

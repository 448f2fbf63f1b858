// The state model of the agent REST API mock: what an agent is (identity,
// labels, behavior knobs) and the statuses it moves through:
//   pending -> running -> completed | failed        (runMs elapsed)
//   pending|running -> terminating -> terminated    (DELETE, graceful or forced)
// Plain data, no I/O; AgentStore drives the transitions, agent_json.h renders them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cleanroom::mocks {

enum class AgentStatus { pending, running, terminating, completed, failed, terminated };

// Returns the wire name of `status` ("running", ...).
std::string_view toString(AgentStatus status);
// Returns the status named `name`, or nullopt for an unknown name.
std::optional<AgentStatus> agentStatusFromString(std::string_view name);
// Returns true if and only if `status` is completed, failed or terminated.
bool isTerminal(AgentStatus status);

// How an agent whose runMs elapses ends.
enum class AgentOutcome { completed, failed };

// The mock-only behavior of an agent (the "behavior" object of POST /api/agents).
struct AgentBehavior {
  std::optional<std::int64_t> runMs;   // run this long, then end with `outcome`; nullopt = until stopped
  AgentOutcome outcome = AgentOutcome::completed;
  std::int64_t exitDelayMinMs = 0;     // after a graceful stop, exit after a delay drawn
  std::int64_t exitDelayMaxMs = 0;     //   uniformly from [min, max] once per agent
  bool ignoreSigterm = false;          // a graceful stop leaves it terminating; only force stops it
  bool realProcess = false;            // back the agent with a real child process
  std::optional<std::int64_t> lingerMs;  // terminal agents stay listed this long; nullopt = store default
  std::int64_t startMs = 0;            // stay pending this long before running
};

// What a client asks for when creating an agent.
struct AgentSpec {
  std::string type;
  std::string prompt;
  std::string name;  // "" = derived from type and id
  std::map<std::string, std::string> labels;
  AgentBehavior behavior;
};

struct Agent {
  std::string id;  // "ag-" + 16 hex digits
  AgentSpec spec;
  AgentStatus status = AgentStatus::pending;
  std::chrono::system_clock::time_point createdAt;
  std::chrono::system_clock::time_point updatedAt;
  std::optional<int> pid;        // realProcess agents, once started
  std::optional<int> exitCode;   // once known (shell convention: 128+N for signal N)
  std::string statusReason;      // e.g. "sigterm", "sigkill", "runMs elapsed"
  std::int64_t exitDelayMs = 0;  // the delay drawn from behavior.exitDelay*
};

// Selects agents for GET /api/agents: every label must match (AND); the status
// must be one of `statuses` (OR) unless that list is empty.
struct AgentFilter {
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<AgentStatus> statuses;

  // Returns true if and only if `agent` passes the filter.
  bool matches(const Agent& agent) const;
};

}  // namespace cleanroom::mocks

// CleanupReport: the record of what a cleanup did — per resource the actions
// taken, attempts, durations, final state and errors; per agent the teardown
// record (agent_teardown.h); totals; success.
//
// This is the data users, CI and the fixtures read (it serializes to JSON);
// the spdlog trace is for people.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cleanroom/agent_teardown.h"
#include "cleanroom/clock.h"
#include "cleanroom/resource.h"

namespace cleanroom {

// One step taken on one resource, e.g. "stop", "await", "force", "verify".
struct ActionRecord {
  std::string name;
  int attempts = 0;
  milliseconds duration{0};
  bool ok = false;
  std::string detail;  // e.g. "graceful", "status=terminated", error text
  // Failed attempts and polls of this step, also those a retry overcame
  // ("attempt 1: Retryable: DELETE /api/agents/a1: HTTP 503 …").
  std::vector<std::string> failures;
};

struct ResourceReport {
  std::string backend;
  std::string id;
  std::string name;
  std::string runId;
  std::optional<milliseconds> age;  // at the time it was listed
  std::string initialStatus;        // backend's word when listed
  std::string finalStatus;          // backend's word at the end
  ResourceState finalState = ResourceState::Unknown;
  std::vector<ActionRecord> actions;
  int attempts = 0;                 // requests made for it, all actions
  milliseconds duration{0};
  bool cleaned = false;             // finished (terminal or gone) at the end
  bool forced = false;              // needed a forced stop
  bool skipped = false;             // dry-run, or not attempted after fail-fast
  std::vector<std::string> errors;

  std::string ref() const { return backend + "/" + id; }
};

struct CleanupTotals {
  int found = 0;      // resources the cleanup was about
  int cleaned = 0;    // finished at the end
  int remaining = 0;  // still alive at the end (incl. skipped)
  int failed = 0;     // with at least one error
  int forced = 0;
  int skipped = 0;
  int attempts = 0;   // every request made, all resources
};

struct CleanupReport {
  std::string runId;     // "*" when every run was in scope
  std::string selector;  // Selector::describe()
  bool dryRun = false;
  bool failFast = false;
  std::vector<ResourceReport> resources;
  // One record per agent whose resources carry kAgentLabel, in order of
  // first appearance (empty in a dry run).
  std::vector<AgentTeardown> agents;
  std::vector<std::string> errors;  // not tied to one resource (a list failed)
  // Failed list attempts a retry overcame ("http: list attempt 1: …"); the
  // cleanup still succeeded, but nothing that went wrong goes unrecorded.
  std::vector<std::string> retried;
  CleanupTotals totals;
  milliseconds elapsed{0};
  bool success = false;  // nothing remaining, no errors, every agent's teardown succeeded

  // Recomputes totals and success from resources, agents and errors.
  void finalize();
  // Returns the report as JSON (field names as above, durations in ms).
  nlohmann::json toJson() const;
  // Returns how many failed attempts the report records (retried lists and
  // every step's failures), whether or not a retry overcame them.
  int failedAttempts() const;
  // Returns a few human lines: totals, one line per resource not cleaned,
  // then one line per agent whose teardown is not clean (zombies included).
  std::string summary() const;
};

}  // namespace cleanroom

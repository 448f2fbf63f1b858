// The filters `cleanroom ls` and `cleanroom sweep` share, and how they become
// a Selector.
//
//   --backend NAME...   which backends (default: every configured one)
//   --run-id ID         owner run (default CLEANROOM_RUN_ID)
//   --all-runs          every run's resources (explicit widening)
//   --label K=V...      labels that must all match
//   --older-than D      minimum age, e.g. 90s, 30m, 24h
//   --state S...        pending|running|stopping|terminal|gone|unknown
//
// Without --run-id, CLEANROOM_RUN_ID and --all-runs the scope is refused,
// never silently widened.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cleanroom/resource.h"
#include "cleanroom/result.h"
#include "cleanroom/selector.h"

namespace CLI {
class App;
}

namespace cleanroom::cli {

// Raw flag values, as typed.
struct FilterOptions {
  std::vector<std::string> backends;
  std::string runId;
  bool allRuns = false;
  std::vector<std::string> labels;
  std::string olderThan;
  std::vector<std::string> states;
};

// Adds the filter flags above to `command`, writing into `options` (which must
// outlive the parse).
void addFilterOptions(CLI::App& command, FilterOptions& options);

// Returns the selector the flags describe. `runIdFromEnvironment` is
// CLEANROOM_RUN_ID's value (nullopt when unset). Returns a Permanent error
// naming the flag or variable for a missing scope, a malformed run id, label,
// duration or state.
Result<Selector> toSelector(const FilterOptions& options, const std::optional<std::string>& runIdFromEnvironment);

// Parses "KEY=VALUE" (split at the first '='; the value may be empty, the key
// may not). Returns a Permanent error naming --label otherwise.
Result<std::pair<std::string, std::string>> parseLabel(const std::string& text);

// Parses a state word. Returns a Permanent error naming --state and listing
// the accepted words otherwise.
Result<ResourceState> parseState(const std::string& word);

}  // namespace cleanroom::cli

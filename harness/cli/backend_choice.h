// Which backends a CLI command talks to: the ones named by --backend, or
// every backend whose settings are present in the environment.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cleanroom/backend.h"
#include "cleanroom/result.h"
#include "cleanroom/selector.h"

namespace cleanroom::cli {

// Returns the backends named in `names` (every configured one when empty).
// Returns a Permanent error naming the backend or variable for an unknown
// name or missing/malformed settings, and one naming every backend's
// variable (CLEANROOM_AGENTS_URL…) when none is configured. May throw
// ConfigError from a backend's constructor. Does not contact any server.
// Files carry no owner label, so the workspace (CLEANROOM_WORKSPACE) is taken
// to belong to the run in scope: with a selector for run R, the workspace
// backend lists and cleans its files as R's (with --all-runs: as this
// process's run::id(), which every selector without a run matches).
Result<std::vector<std::shared_ptr<Backend>>> chooseBackends(const std::vector<std::string>& names,
                                                             const Selector& selector = Selector::allRuns());

// Returns one line per known backend: "  http   CLEANROOM_AGENTS_URL".
std::string describeBackendSettings();

}  // namespace cleanroom::cli

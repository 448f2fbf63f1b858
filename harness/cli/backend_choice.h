// Which backends a CLI command talks to: the ones named by --backend, or
// every backend whose settings are present in the environment.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cleanroom/backend.h"
#include "cleanroom/result.h"

namespace cleanroom::cli {

// Returns the backends named in `names` (every configured one when empty).
// Returns a Permanent error naming the backend or variable for an unknown
// name or missing/malformed settings, and one naming every backend's
// variable (CLEANROOM_AGENTS_URL…) when none is configured. May throw
// ConfigError from a backend's constructor. Does not contact any server.
Result<std::vector<std::shared_ptr<Backend>>> chooseBackends(const std::vector<std::string>& names);

// Returns one line per known backend: "  http   CLEANROOM_AGENTS_URL".
std::string describeBackendSettings();

}  // namespace cleanroom::cli

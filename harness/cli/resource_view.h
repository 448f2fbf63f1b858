// How the CLI shows resources and cleanup reports: aligned text tables for
// people, JSON for scripts.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/clock.h"
#include "cleanroom/report.h"
#include "cleanroom/resource.h"

namespace cleanroom::cli {

// Returns `time` as ISO-8601 UTC with milliseconds, e.g. "2024-05-01T12:00:03.250Z".
std::string formatTimestamp(WallTime time);

// Returns one resource as JSON: backend, id, name, state, status, runId,
// labels, createdAt (ISO-8601 or null), ageMs (at `now`, or null).
nlohmann::json resourceJson(const Resource& resource, WallTime now);

// Returns a table with columns BACKEND ID NAME STATE STATUS AGE RUN, one row
// per resource, ages measured at `now`.
std::string resourceTable(const std::vector<Resource>& resources, WallTime now);

// Returns a table with columns BACKEND ID NAME BEFORE AFTER RESULT ATTEMPTS
// TIME, one row per resource of `report` (empty string when it has none).
std::string reportTable(const CleanupReport& report);

// Returns what happened to one resource in a report: "cleaned", "forced",
// "would stop", "skipped", "failed" or "left".
std::string outcomeWord(const ResourceReport& resource, bool dryRun);

}  // namespace cleanroom::cli

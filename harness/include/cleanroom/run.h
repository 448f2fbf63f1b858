// Run id: who owns a resource. Every resource created through cleanroom is
// labelled `cleanroom.run=<run id>`, and cleanup's default scope is this run.
//
// The id comes from CLEANROOM_RUN_ID (so a CI job, its reaper and its CLI
// calls agree) or is generated once per process. Valid ids are 1–64 of
// [A-Za-z0-9_-] (they end up in tmux session names, label values and tags).
#pragma once

#include <string>
#include <string_view>

#include "cleanroom/result.h"

namespace cleanroom::run {

// Returns this process's run id, idFromEnvironment() on first call.
const std::string& id();

// Returns the run id the environment gives: CLEANROOM_RUN_ID when set —
// with "_s<index>" appended under gtest sharding (GTEST_SHARD_INDEX with
// GTEST_TOTAL_SHARDS > 1), since shards share their environment and must
// not clean each other's resources — else a fresh generated id. Throws
// ConfigError naming CLEANROOM_RUN_ID when it is malformed (or too long for
// the suffix).
std::string idFromEnvironment();

// Returns a fresh random id: 12 lowercase hex characters.
std::string generateId();

// Returns success, or a Permanent error saying what is wrong with `id` and
// what a valid one looks like. `source` names where it came from.
Status validateId(std::string_view id, std::string_view source = "run id");

}  // namespace cleanroom::run

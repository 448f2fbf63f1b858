// The cleanroom CLI's commands. Each takes its parsed flags and the streams
// to write to, and returns an exit code (exit_code.h). Results go to `out`,
// errors and traces to `err`.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "filter_options.h"

namespace cleanroom::cli {

struct LsOptions {
  FilterOptions filter;
  bool json = false;
  // Accepted so that ls takes the same flags as sweep (DESIGN 3.2); ls never
  // changes anything, so they change nothing.
  bool dryRun = false;
  bool failFast = false;
};

// `cleanroom ls`: lists every resource matching the filters (any state) as a
// table or a JSON array. Returns 1 when any listed resource is still active
// (pending, running, stopping, stopped, unknown) or a listing failed, 0 otherwise,
// 2 for usage or configuration errors. Blocks for at most one retry deadline
// per backend (backends are listed in parallel).
int runLs(const LsOptions& options, std::ostream& out, std::ostream& err);

struct SweepOptions {
  FilterOptions filter;
  bool json = false;
  bool dryRun = false;
  bool failFast = false;
};

// `cleanroom sweep`: cleans every resource matching the filters (active ones
// unless --state says otherwise) with the CleanupEngine, and prints the
// report as a table and summary or as JSON. Returns 0 when the report's
// success is true (for --dry-run: the plan was made without errors), 1 when
// something is left or failed, 2 for usage or configuration errors. Blocks
// for at most the engine's bound (engine.h), returning as soon as everything
// is gone.
int runSweep(const SweepOptions& options, std::ostream& out, std::ostream& err);

struct ReapOptions {
  std::string runId;
  std::string journal;                // empty = the run's default journal
  std::vector<std::string> backends;  // empty = configured + journaled
  std::string grace = "3s";
  bool dryRun = false;
  bool json = false;
};

// `cleanroom reap RUN_ID`: cleans what run RUN_ID left (a crashed CI job):
// every backend configured in the environment plus every backend the run's
// journal names (reaper.h reapRun), and prints the report like sweep. The
// journal is removed when nothing is left. Returns 0 when clean, 1 when
// something is left or failed, 2 for bad input (run id, journal, settings).
int runReap(const ReapOptions& options, std::ostream& out, std::ostream& err);

struct WaitOptions {
  std::string agentId;
  std::string timeout = "60s";
  bool json = false;
};

// `cleanroom wait AGENT_ID`: waits for the agent (http backend) to reach a
// terminal status or disappear, using the server's long-poll when offered and
// adaptive polling otherwise, and prints its final status: completed, failed,
// terminated (or the API's own word) or deleted. With --json it prints one
// object instead: {"id", "status", "state", "elapsedMs"}, plus "error" when
// the wait timed out or failed (the error also goes to `err`). Returns 0 when
// the agent finished, 1 on timeout or a permanent error (naming the agent and
// its last status), 2 for usage or configuration errors (plain text on `err`,
// no JSON). Blocks for at most the timeout plus one request.
int runWait(const WaitOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cleanroom::cli

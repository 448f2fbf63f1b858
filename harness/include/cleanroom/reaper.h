// Reaper: the sidecar that cleans up after a test process that died without
// cleaning up — SIGKILL, a CI timeout, a crash — which no in-process
// fail-safe can catch.
//
//   cleanroom-reaper --watch-pid PID --run-id ID [--journal PATH]
//                    [--backend NAME]... [--grace 3s] [--verbose]
//
// It checks that PID belongs to run ID (a "run" line of the run's journal
// names PID with its start time, or PID's environment carries
// CLEANROOM_RUN_ID=ID), prints one line
//   watching pid 4242 for run abc123
// and sleeps in poll() on a pidfd until PID ends (any cause, SIGKILL
// included; no polling interval). Then it cleans the run's resources — run
// scope, every backend configured in its environment plus every backend the
// journal names (journal.h) — prints the summary, removes the journal when
// nothing is left, and exits. When the process cleaned up itself before it
// ended (its fail-safe wrote a "closed" line, or removed the journal after
// a clean sweep), the reaper exits at once without sweeping. It never reaps
// while PID lives, and only one reaper watches a run at a time: a second
// one says so and exits 0 (the lock is an abstract Unix socket name: no
// file, released when the reaper ends). A PID already gone is reaped at once.
//
// Exit codes: 0 clean (or another reaper watches), 1 something left or
// failed (listed), 2 bad input (named): malformed run id, a journal that is
// not one or belongs to another run, a PID the run does not own.
#pragma once

#include <sys/types.h>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cleanroom/clock.h"
#include "cleanroom/engine.h"
#include "cleanroom/report.h"
#include "cleanroom/result.h"

namespace cleanroom {

struct ReaperOptions {
  pid_t watchPid = 0;
  std::string runId;
  std::string journalPath{};          // empty = Journal::pathFor(runId)
  std::vector<std::string> backends{};  // empty = every configured one (+ the journal's)
  milliseconds gracePeriod{3000};     // before forcing what ignores the graceful stop
};

struct ReapOptions {
  std::string journalPath{};            // empty = Journal::pathFor(run id)
  std::vector<std::string> backends{};  // empty = every configured one (+ the journal's)
  CleanupOptions cleanup{};             // grace period, retries, dry-run…
};

// Cleans what run `runId` left, now: its scope on every backend configured
// in the environment (or named in options.backends) plus every backend its
// journal names; then ends the services the journal names (mock servers
// the run started); removes the journal when the cleanup succeeded (not in
// a dry run). Returns the report
// (journaled backends that cannot be rebuilt are among its errors; journal
// lines a crash cut off are only logged), or a Permanent error naming the
// bad input: a malformed run id, a file that is not a journal or belongs to
// another run, misconfigured backends, nothing to reap with. Used by
// cleanroom-reaper and `cleanroom reap RUN_ID`. Blocks for the engine's
// bounds (engine.h).
Result<CleanupReport> reapRun(const std::string& runId, const ReapOptions& options = {});

// Does what cleanroom-reaper does (above); returns its exit code. The
// "watching" line and the summary go to `out`, errors to `err`. Blocks until
// the watched process ends and the cleanup is done.
int runReaper(const ReaperOptions& options, std::ostream& out, std::ostream& err);

// Returns the cleanroom-reaper executable to start: $CLEANROOM_REAPER, else
// the one built or installed with this library, else "cleanroom-reaper" from
// PATH; a Permanent error says to set CLEANROOM_REAPER when none exists, or
// that CLEANROOM_REAPER=off turned the reaper off.
Result<std::string> reaperExecutable();

// Starts a reaper watching this process for `runId`, in a session of its
// own (so Ctrl-C to the test's terminal and a kill of the test's process
// group do not reach it), and returns its pid once it watches (its
// "watching" line), at most `timeout`. The reaper inherits our environment
// (so it configures the same backends) and stderr, and exits by itself
// after this process ends and it has cleaned up. Errors name the executable
// and what went wrong (e.g. it exited with status 2: the run id is bad).
Result<pid_t> launchReaper(const std::string& runId, milliseconds timeout = milliseconds(10000));

}  // namespace cleanroom

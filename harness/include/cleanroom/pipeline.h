// Pipeline: a cleanup described once as a small graph of steps, independent
// steps running concurrently, each with its own timeout and retry policy.
//
// A session's cleanup is defined once, for example
//   upload-logs ∥ deregister-target ∥ release-state → stop-task → mark-cleaned
// and run for one session (the per-request scope) or for many at once
// (the process-exit fail-safe scope) from the same definition. Nothing here
// knows about any backend: a step is a function returning Status.
//
// Semantics:
// - A step starts as soon as every step in its `after` and `needs` lists has
//   finished. Steps whose predecessors are done run concurrently, each on a
//   thread of its own.
// - `after` only orders: the step runs whatever the predecessor's outcome.
//   `needs` also requires success: if a needed step Failed, TimedOut or was
//   Skipped, the step is Skipped ("skipped: needs X which failed").
// - Outcome of a step's Status: success → Ok; a Gone error → Ok (idempotent:
//   "already done", recorded in `detail`); Retryable errors are retried under
//   the step's RetryPolicy (retry.h) whose deadline is clamped to the step's
//   remaining time; Permanent errors and exhausted retries → Failed. An
//   exception thrown by a step is a Failed step ("exception: <what>"); it
//   never escapes the pipeline and is not retried.
// - `timeout` covers every attempt of the step and the waits between them,
//   counted from the step's start. A step still running at its timeout is
//   reported TimedOut and the pipeline moves on without it: its dependents
//   start (`after`) or are skipped (`needs`) at once.
// - The report's ok is true when every critical step ended Ok. Informational
//   steps (critical = false) are reported but never make a pipeline fail.
//
// Abandoned steps (the thread contract): a step that times out cannot be
// interrupted, so its thread is detached and left to finish on its own. It
// keeps the definition (its `run` function) and the run's bookkeeping alive
// through shared ownership, so it never touches freed memory of the pipeline
// or its report; when it finishes, its late result is traced
// (event=finished-late) and dropped. What the step itself captured (by
// reference) and the Clock passed to run() must outlive it: Clock::system()
// always does; a caller with a shorter-lived clock or captures calls
// waitForAbandonedSteps() before destroying them. A well-behaved step honours
// StepContext::deadline (passes remaining() as its request timeouts, stops
// polling when expired()), so it is never abandoned for long.
//
// Tracing (logger "cleanroom", trace.h), key=value per step start and end:
//   step=upload-logs pipeline=session-cleanup session=S event=start timeout_ms=10000
//   step=upload-logs pipeline=session-cleanup session=S result=ok ms=12 attempts=1 critical=true
// Ends that are not ok are logged at info, everything else at debug (the
// CLI's --verbose shows both).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cleanroom/clock.h"
#include "cleanroom/result.h"
#include "cleanroom/retry.h"

namespace cleanroom {

// What a step's function is given, once per attempt.
struct StepContext {
  Clock& clock;
  SteadyTime deadline;  // the step's own deadline (start + timeout)
  int attempt = 1;      // 1-based
  std::string session;
  std::string step;

  // Returns the time left before the deadline (zero when it passed): pass it
  // as the request timeout of whatever the step calls.
  milliseconds remaining() const;
  // Returns true when the deadline passed: the result will not be waited for.
  bool expired() const;
};

struct PipelineStep {
  std::string name;                // "upload-logs"
  std::vector<std::string> after;  // starts once these finished (any outcome)
  std::vector<std::string> needs;  // as after, but Skipped unless all of these ended Ok
  milliseconds timeout{10000};     // every attempt and retry wait of this step together
  RetryPolicy retry = RetryPolicy::once();  // only Retryable errors are retried
  bool critical = true;            // informational steps never fail the pipeline
  std::function<Status(const StepContext&)> run;
};

struct StepReport {
  enum class Outcome { Ok, Failed, TimedOut, Skipped };
  std::string name;
  Outcome outcome = Outcome::Skipped;
  bool critical = true;
  int attempts = 0;          // attempts started (for a TimedOut step: so far)
  milliseconds startedAt{0};  // offset from the pipeline's start (skipped: when decided)
  milliseconds duration{0};
  std::string error;         // "permanent: …", "exception: …", "timed out after 1000 ms …", "skipped: …"
  std::string detail;        // "already done: …" when the step's target was Gone
  // Every failed attempt, also those a retry overcame ("attempt 1: retryable: …").
  std::vector<std::string> failures;

  bool ok() const { return outcome == Outcome::Ok; }
};

// Returns "ok", "failed", "timed-out" or "skipped".
const char* toString(StepReport::Outcome outcome);

struct PipelineReport {
  std::string pipeline;
  std::string session;
  bool ok = false;  // every critical step ended Ok
  milliseconds elapsed{0};
  std::vector<StepReport> steps;  // in definition order

  // Returns the step named `name`, or nullptr.
  const StepReport* step(const std::string& name) const;
  // Returns the report as JSON: pipeline, session, ok, elapsedMs, steps[] with
  // name, outcome, critical, attempts, startedAtMs, durationMs, error, detail,
  // failures.
  nlohmann::json toJson() const;
  // Returns one line, e.g. "pipeline session-cleanup session=s1 FAILED in
  // 3012 ms: upload-logs failed (permanent: …), stop-task ok 500 ms, …".
  std::string summary() const;
};

// The definition: immutable once defined, cheap to copy (copies share it),
// and safe to run from many threads at once.
class Pipeline {
 public:
  // Validates and returns the definition, or a Permanent error naming the
  // step and the mistake: an empty or duplicate name, an after/needs entry
  // naming no step, a cycle (naming its steps), a missing run function, a
  // timeout that is not positive.
  static Result<Pipeline> define(std::string name, std::vector<PipelineStep> steps);

  const std::string& name() const;
  const std::vector<PipelineStep>& steps() const;
  // Returns the longest chain of step timeouts: the most run() ever blocks
  // (plus the few milliseconds it takes to notice a timeout).
  milliseconds bound() const;

  // Runs every step for `session` and returns the report. Blocks until every
  // step finished, timed out or was skipped: at most bound(). Never throws
  // for a step's failure.
  PipelineReport run(const std::string& session, Clock& clock = Clock::system()) const;

  // Runs the pipeline for each session, at most `concurrency` sessions at
  // once (0 counts as 1), and returns the reports in the order of
  // `sessions`. Blocks for at most ceil(sessions / concurrency) × bound().
  std::vector<PipelineReport> runAll(const std::vector<std::string>& sessions, Clock& clock = Clock::system(),
                                     std::size_t concurrency = 16) const;

  // Returns how many step threads of this definition (all runs, abandoned
  // ones included) are still running.
  std::size_t stepsStillRunning() const;
  // Blocks until no step thread of this definition is running, or for
  // `realTimeout` of real time at most. Returns true when none is running.
  bool waitForAbandonedSteps(milliseconds realTimeout) const;

  struct Definition;

 private:
  explicit Pipeline(std::shared_ptr<const Definition> definition);
  std::shared_ptr<const Definition> definition_;
};

}  // namespace cleanroom

// CleanupEngine: the one engine behind the fixtures, the CLI and the
// fail-safe.
//
//   for each stage (backend.h: Agents, then Files):
//     list (that stage's backends, selector) → request a graceful stop of
//     all, in parallel with bounded concurrency → await their exit (server
//     push or adaptive polling, never a fixed sleep) → force the ones still
//     alive after the grace period
//   → verify by listing every backend again → per-agent teardown records
//   (agent_teardown.h) → report.
//
// Stages keep the order agent systems need: every session, process and
// container is gone before any of their files is archived or deleted.
//
// Idempotent: something already finished or gone is success; cleaning twice
// is a no-op. Modes: dry-run (plan only, touches nothing), fail-fast (stop
// starting new work at the first failure), continue-and-report (default).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cleanroom/backend.h"
#include "cleanroom/clock.h"
#include "cleanroom/report.h"
#include "cleanroom/retry.h"
#include "cleanroom/selector.h"
#include "cleanroom/wait.h"

namespace cleanroom {

enum class FailureMode { ContinueAndReport, FailFast };

struct CleanupOptions {
  bool dryRun = false;
  FailureMode failureMode = FailureMode::ContinueAndReport;
  // Concurrent stop requests at most.
  int concurrency = 16;
  // How long a gracefully stopped resource may take to exit before it is
  // forced. An upper bound: the engine moves on the moment it exits.
  milliseconds gracePeriod{3000};
  // Escalate to a forced stop after the grace period (else: report remaining).
  bool escalateToForce = true;
  // How long a forced resource may take to disappear.
  milliseconds forceTimeout{5000};
  // Retries of each request (list, stop, probe).
  RetryPolicy retry;
  // Polling pace when a backend offers no server push.
  AdaptiveWait pacing;
  // Longest single long-poll when a backend offers server push.
  milliseconds longPollSlice{10000};
  // Whether an agent's zombie processes make its teardown (and the report)
  // fail; by default they are only reported (AgentTeardown::noZombies).
  bool zombiesAreCritical = false;
  // The whole cleanup, every stage and phase, ends by this long after it
  // started (0 = no overall bound beyond the phases'): retries get only the
  // time left (at least one attempt each), waits are cut short, and what is
  // still alive then is reported remaining with a "deadline" error. A
  // request in flight still finishes (bounded by its backend's timeout).
  milliseconds deadline{0};
};

// What a listing found across backends.
struct Inventory {
  std::vector<Resource> resources;
  // The backend that listed each resource (parallel to `resources`): two
  // backends may share a name (two tmux servers), so names do not say.
  std::vector<std::shared_ptr<Backend>> listedBy;
  std::vector<std::string> errors;  // "http: list failed after 5 attempts: …"
  // Failed list attempts a retry overcame: "http: list attempt 1: …".
  std::vector<std::string> retried;
  bool ok() const { return errors.empty(); }
};

class CleanupEngine {
 public:
  explicit CleanupEngine(CleanupOptions options = {}, Clock& clock = Clock::system());

  // Adds a backend; the engine shares ownership.
  void addBackend(std::shared_ptr<Backend> backend);
  const std::vector<std::shared_ptr<Backend>>& backends() const { return backends_; }
  // Returns the backend named `name`, or nullptr.
  std::shared_ptr<Backend> backend(const std::string& name) const;

  const CleanupOptions& options() const { return options_; }
  CleanupOptions& options() { return options_; }
  Clock& clock() const { return clock_; }

  // Returns every resource matching `selector` on every backend (with
  // retries). Blocks for at most one retry deadline per backend (backends are
  // listed in parallel).
  Inventory list(const Selector& selector) const;

  // Cleans every resource matching `selector`, stage by stage. Selectors
  // without states are narrowed to active resources: finished ones need
  // nothing. Blocks for at most options().deadline (when set) plus one
  // request per phase, else about retry.deadline + gracePeriod +
  // forceTimeout per stage plus retry.deadline (verify); returns the moment
  // everything is gone.
  CleanupReport cleanup(const Selector& selector) const;

 private:
  CleanupOptions options_;
  Clock& clock_;
  std::vector<std::shared_ptr<Backend>> backends_;
};

}  // namespace cleanroom

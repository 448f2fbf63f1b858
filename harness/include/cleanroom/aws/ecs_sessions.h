// EcsSessions: the registry of one run's open ECS sessions and the two
// scopes of their cleanup, both running the SAME pipeline definition
// (ecs_session_cleanup.h):
//
//   per request   cleanup(id)       one session, when its request ends
//   process exit  cleanupAll(n)     every session still open, n at once;
//                                   waits for their uploads; then force-stops
//                                   this run's leftover tasks (tasks of the
//                                   run that no cleaned session stopped)
//
//   EcsSessions sessions(std::make_shared<AwsSessionApi>(client), ecsBackend);
//   sessions.open({.id = "req-1", .taskArn = arn, .targetGroupArn = tg, ...});
//   PipelineReport r = sessions.cleanup("req-1");   // r.summary() is one line
//
// Idempotent: a session is forgotten once its cleanup ended ok, so a second
// cleanup(id) — or one for an id never opened — runs the pipeline with every
// step "already done" and returns an ok report without calling AWS. A task
// that stopped by itself is "already done" for stop-task. A cleanup that
// failed keeps the session open, so cleanupAll tries again.
//
// Ownership: every session belongs to the registry's run (open() refuses
// another run's); tasks are addressed by ARN and leftovers are listed with
// Selector::forRun(runId) from the Backend given at construction (for
// instance the ecs backend), so nothing of another run is touched.
//
// Journal: open() records the session's task in the run's journal
// (journal::recordCreated with the tasks backend's name and locator; the
// ecs backend's runTask journals it too — a duplicate line is harmless) so
// cleanroom-reaper finds it after a SIGKILL; a cleanup whose stop-task ended
// ok marks it cleaned. Turn off with journal = false.
//
// Fail-safe: with options.failSafe (the default) the registry registers
// cleanupAll() with the process's fail-safe (fail_safe.h,
// addFailSafeCleanup), so an exit, SIGINT or SIGTERM runs the same session
// cleanup for every open session — logs shipped, targets deregistered —
// before the fail-safe's sweep stops what is left; it unregisters in its
// destructor. (The fail-safe must be installed, e.g. by an Environment.)
//
// Tracing: the pipeline traces every step with its duration; each cleanup
// logs its one-line summary (info when not ok, else debug), and cleanupAll
// one line per leftover task:
//   step=session-leftover ref=ecs/arn:... result=ok
// Thread-safe: open, cleanup and cleanupAll may be called from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cleanroom/aws/ecs_session.h"
#include "cleanroom/aws/ecs_session_cleanup.h"
#include "cleanroom/backend.h"
#include "cleanroom/pipeline.h"

namespace cleanroom::aws {

struct EcsSessionsOptions {
  EcsSessionCleanupOptions cleanup;
  std::string runId;     // "" = run::id()
  bool journal = true;   // record open sessions' tasks in the run's journal
  // How long cleanupAll waits for each force-stopped leftover to finish
  // (Backend::awaitFinished) after asking all of them to stop.
  milliseconds leftoverWait{30000};
  // Run cleanupAll() from the process's fail-safe (exit, SIGINT, SIGTERM).
  bool failSafe = true;
};

// What happened to one leftover task of the run.
struct LeftoverReport {
  Resource task;          // as the backend listed it
  bool ok = false;        // stopped (or already gone)
  std::string outcome;    // "stopped", "already gone", "still <state>", "failed"
  std::string error;      // why it is not ok
};

// What cleanupAll did.
struct EcsSessionsReport {
  std::vector<PipelineReport> sessions;   // one per session that was open, in opening order
  std::vector<LeftoverReport> leftovers;  // this run's tasks that were still active
  std::string listError;                  // listing the leftovers failed ("" = it worked)
  bool ok = false;                        // every session ok, every leftover stopped, list worked

  // Returns {"ok", "sessions": [PipelineReport::toJson()...], "leftovers":
  // [{"id", "name", "ok", "outcome", "error"}], "listError"}.
  nlohmann::json toJson() const;
  // Returns one line: "ecs sessions: 3 cleaned, 0 failed; leftovers: 1
  // stopped, 0 failed".
  std::string summary() const;
};

class EcsSessions {
 public:
  // `api` makes the cloud calls; `tasks` lists and force-stops this run's
  // leftover tasks and must outlive this object. Throws ConfigError naming
  // the setting when the options do not make a valid pipeline or the run id
  // is invalid.
  EcsSessions(std::shared_ptr<EcsSessionApi> api, Backend& tasks, EcsSessionsOptions options = {},
              Clock& clock = Clock::system());
  ~EcsSessions();
  EcsSessions(const EcsSessions&) = delete;
  EcsSessions& operator=(const EcsSessions&) = delete;

  // Records an open session (runId filled in when empty) and journals its
  // task. A Permanent error names the field when the session is unusable
  // (EcsSession::problem), its id is already open, or it belongs to another
  // run. Blocks on one journal write at most.
  Status open(EcsSession session);

  // Runs the session cleanup for `sessionId` and returns its report (ok
  // with every step "already done" when no such session is open). Blocks
  // for at most pipeline().bound().
  PipelineReport cleanup(const std::string& sessionId);

  // The process-exit scope: runs the same cleanup for every open session,
  // `concurrency` at once, then lists this run's tasks and force-stops those
  // still active that no successful cleanup just stopped, waiting up to
  // options.leftoverWait for them. Blocks for at most ceil(open /
  // concurrency) × pipeline().bound() plus one list, the stops and
  // leftoverWait.
  EcsSessionsReport cleanupAll(std::size_t concurrency = 16);

  // Returns the sessions open now, in opening order.
  std::vector<EcsSession> openSessions() const;
  const std::string& runId() const { return runId_; }
  const Pipeline& pipeline() const { return pipeline_; }

 private:
  struct Registry;
  std::shared_ptr<EcsSessionApi> api_;
  Backend& tasks_;
  EcsSessionsOptions options_;
  Clock& clock_;
  std::string runId_;
  std::shared_ptr<Registry> registry_;
  Pipeline pipeline_;
  int failSafeId_ = 0;  // addFailSafeCleanup's id; 0 = none
};

}  // namespace cleanroom::aws

// The session cleanup, described once as a Pipeline (pipeline.h):
//
//   upload-logs ───────┐
//   deregister-target ─┼─(after)──→ stop-task ──(needs)──→ mark-cleaned
//   release-state ─────┘                  (also needs deregister-target)
//   (the three on the left start at once and run concurrently; the task is
//   stopped once all three finished — whatever their outcome — so logs are
//   shipped and the target drained before what holds them goes away)
//
//   upload-logs        PutObject of every regular file below logDirectory to
//                      s3://logBucket/<prefix>/<runId>/<session>/<relative
//                      path>; each attempt uploads what is not uploaded yet;
//                      uploaded files are removed locally (removeUploadedLogs).
//                      Files it could not upload stay where they are and the
//                      report names them (step detail "kept locally: …").
//                      Informational by default: a failed upload never keeps
//                      the task running.
//   deregister-target  DeregisterTargets of targetIp:targetPort. Critical.
//                      Throttling is retried; a target that is not registered
//                      is "already done"; a wrong target group ARN fails
//                      naming it. No target group in the session → already done.
//   release-state      the caller's callback (drop local state); absent = ok.
//                      Informational by default.
//   stop-task          after the three above (whatever their outcome): StopTask, then
//                      DescribeTasks polled adaptively (stopPacing) until
//                      STOPPED, within the step's timeout; every request gets
//                      StepContext::remaining() as its timeout. A task ECS no
//                      longer knows is "already done". Critical.
//   mark-cleaned       needs stop-task and deregister-target: the caller's
//                      callback (mark the request cleaned); absent = ok.
//
// Steps find their session by StepContext::session through the lookup the
// definition is given; a session the lookup does not know is "already done"
// in every step (idempotence: the registry forgets a session once cleaned).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cleanroom/aws/ecs_session.h"
#include "cleanroom/pipeline.h"
#include "cleanroom/retry.h"
#include "cleanroom/wait.h"

namespace cleanroom::aws {

// Step names, as they appear in reports and traces.
inline constexpr const char* kUploadLogsStep = "upload-logs";
inline constexpr const char* kDeregisterTargetStep = "deregister-target";
inline constexpr const char* kReleaseStateStep = "release-state";
inline constexpr const char* kStopTaskStep = "stop-task";
inline constexpr const char* kMarkCleanedStep = "mark-cleaned";
// The pipeline's name.
inline constexpr const char* kSessionCleanupPipeline = "ecs-session-cleanup";

// How one step runs: timeout (every attempt and retry wait together), retry
// policy (only Retryable errors are retried; its deadline is clamped to the
// timeout) and whether it decides the cleanup's success.
struct SessionStepSettings {
  milliseconds timeout{10000};
  RetryPolicy retry = RetryPolicy::once();
  bool critical = true;
};

// A caller's step: returns success, or an error (Gone = already done).
using SessionCallback = std::function<Status(const EcsSession&, const StepContext&)>;

struct EcsSessionCleanupOptions {
  // Defaults: upload 30 s, 5 attempts, informational; deregister 10 s, 6
  // attempts (throttling), critical; release 5 s, once, informational; stop
  // 60 s (StopTask retried 5 times; the wait for STOPPED fills the rest),
  // critical; mark 5 s, 3 attempts, critical.
  SessionStepSettings uploadLogs = defaultUploadLogs();
  SessionStepSettings deregisterTarget = defaultDeregisterTarget();
  SessionStepSettings releaseState = defaultReleaseState();
  SessionStepSettings stopTask = defaultStopTask();
  SessionStepSettings markCleaned = defaultMarkCleaned();

  SessionCallback releaseStateCallback;  // empty = nothing to release
  SessionCallback markCleanedCallback;   // empty = nothing to mark
  bool removeUploadedLogs = true;        // remove each local file once uploaded
  std::string stopReason = "cleanroom: session cleanup";
  // DescribeTasks pacing while waiting for STOPPED: 10 ms, ×1.5, ≤ 500 ms apart.
  AdaptiveWait stopPacing{milliseconds(10), 1.5, milliseconds(500)};

  static SessionStepSettings defaultUploadLogs();
  static SessionStepSettings defaultDeregisterTarget();
  static SessionStepSettings defaultReleaseState();
  static SessionStepSettings defaultStopTask();
  static SessionStepSettings defaultMarkCleaned();
};

// One session's progress through its cleanups (the files uploaded so far),
// shared by its steps and the caller. Thread-safe.
class SessionProgress {
 public:
  explicit SessionProgress(EcsSession session) : session_(std::move(session)) {}

  const EcsSession& session() const { return session_; }
  // Records that the file at `relativePath` (below logDirectory) is in S3.
  void markUploaded(const std::filesystem::path& relativePath);
  bool uploaded(const std::filesystem::path& relativePath) const;
  // Returns the absolute paths of the regular files below logDirectory that
  // were not uploaded, sorted. Reads the directory (no waiting).
  std::vector<std::filesystem::path> keptLocally() const;

 private:
  EcsSession session_;
  mutable std::mutex mutex_;
  std::set<std::filesystem::path> uploaded_;
};

// Returns the progress of the session named `id`, or nullptr when no such
// session is open (its steps then report "already done").
using SessionLookup = std::function<std::shared_ptr<SessionProgress>(const std::string& id)>;

// Returns the session cleanup pipeline (named kSessionCleanupPipeline), or a
// Permanent error naming the setting that is wrong (a timeout that is not
// positive). `api` and `lookup` are kept by the definition (abandoned steps
// included) for as long as it lives.
Result<Pipeline> defineSessionCleanup(std::shared_ptr<EcsSessionApi> api, EcsSessionCleanupOptions options,
                                      SessionLookup lookup);

// Returns the regular files below `directory` as paths relative to it,
// sorted; an empty or missing directory gives none.
std::vector<std::filesystem::path> logFilesBelow(const std::filesystem::path& directory);

// Writes what the upload left behind into `report`'s upload-logs step: detail
// "kept locally: /a.log, /b.log" (and the same appended to its error) when
// files were not uploaded; nothing when all were.
void describeKeptLogs(PipelineReport& report, const SessionProgress& progress);

}  // namespace cleanroom::aws

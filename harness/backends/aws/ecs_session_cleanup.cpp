#include "cleanroom/aws/ecs_session_cleanup.h"

#include <algorithm>
#include <optional>
#include <system_error>
#include <utility>

namespace cleanroom::aws {

namespace {

RetryPolicy backoff(int attempts, milliseconds initialDelay, milliseconds maxDelay) {
  RetryPolicy policy;
  policy.maxAttempts = attempts;
  policy.initialDelay = initialDelay;
  policy.maxDelay = maxDelay;
  return policy;  // the deadline is clamped to the step's timeout by the pipeline
}

std::string join(const std::vector<std::filesystem::path>& paths) {
  std::string out;
  for (const auto& p : paths) out += (out.empty() ? "" : ", ") + p.string();
  return out;
}

Error notOpen(const std::string& id) {
  return Error::gone("session '" + id + "' is not open (cleaned up before, or never opened)");
}

// The steps' shared context: what every step function captures.
struct Steps {
  std::shared_ptr<EcsSessionApi> api;
  EcsSessionCleanupOptions options;
  SessionLookup lookup;
};

Status uploadLogs(const Steps& steps, SessionProgress& progress, const StepContext& ctx) {
  const EcsSession& session = progress.session();
  if (session.logDirectory.empty()) return Status::success();
  std::optional<Error> firstFailure;
  int failures = 0;
  bool permanent = false;
  for (const auto& relative : logFilesBelow(session.logDirectory)) {
    if (progress.uploaded(relative)) continue;
    if (ctx.expired()) break;
    const auto file = session.logDirectory / relative;
    Status put = steps.api->putObject(session.logBucket, session.logKey(relative), file, ctx.remaining());
    if (!put.ok()) {
      ++failures;
      if (!firstFailure) firstFailure = put.error();
      if (!put.error().isRetryable()) {
        permanent = true;
        break;  // a missing bucket or bad credentials fail every file alike
      }
      continue;
    }
    progress.markUploaded(relative);
    if (!steps.options.removeUploadedLogs) continue;
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
  }
  if (!firstFailure && !ctx.expired()) return Status::success();
  const auto kept = progress.keptLocally();
  if (kept.empty()) return Status::success();
  Error error = firstFailure ? *firstFailure : Error::retryable("the step's time ran out");
  if (firstFailure && failures > 1) error.message += " (and " + std::to_string(failures - 1) + " more failures)";
  error.message += "; kept locally: " + join(kept);
  error.kind = permanent ? ErrorKind::Permanent : ErrorKind::Retryable;
  return error;
}

Status deregisterTarget(const Steps& steps, const EcsSession& session, const StepContext& ctx) {
  if (session.targetGroupArn.empty()) return Error::gone("session '" + session.id + "' has no ALB target");
  return steps.api->deregisterTarget(session.targetGroupArn, session.targetIp, session.targetPort, ctx.remaining());
}

Status stopTask(const Steps& steps, const EcsSession& session, const StepContext& ctx) {
  const std::string cluster = session.clusterOfTask();
  Status stop = steps.api->stopTask(cluster, session.taskArn, steps.options.stopReason, ctx.remaining());
  if (!stop.ok()) return stop;  // Gone (unknown task) is "already done"; Retryable is retried
  std::string lastStatus = "unknown";
  std::optional<Error> pollError;
  bool gone = false;
  const SteadyTime started = ctx.clock.now();
  WaitOutcome outcome = waitUntil(ctx.clock, ctx.deadline, steps.options.stopPacing, [&] {
    auto status = steps.api->taskStatus(cluster, session.taskArn, std::max(ctx.remaining(), milliseconds(1)));
    if (status) {
      lastStatus = status.value();
      return lastStatus == "STOPPED";
    }
    if (status.error().isGone()) return gone = true;
    lastStatus = "unknown (" + status.error().describe() + ")";
    if (status.error().isRetryable()) return false;
    pollError = status.error();
    return true;
  });
  if (gone) return Status::success();
  if (pollError) return *pollError;
  if (outcome.met) return Status::success();
  return Error::retryable("task " + session.taskArn + " still " + lastStatus + " " +
                          std::to_string(millisBetween(started, ctx.clock.now()).count()) +
                          " ms after StopTask (waiting for STOPPED)");
}

Status callback(const SessionCallback& fn, const EcsSession& session, const StepContext& ctx) {
  if (!fn) return Status::success();
  return fn(session, ctx);
}

// Wraps a step body: finds the session (not open → already done).
std::function<Status(const StepContext&)> bodyOf(
    std::shared_ptr<const Steps> steps,
    Status (*body)(const Steps&, SessionProgress&, const StepContext&)) {
  return [steps = std::move(steps), body](const StepContext& ctx) -> Status {
    auto progress = steps->lookup(ctx.session);
    if (!progress) return notOpen(ctx.session);
    return body(*steps, *progress, ctx);
  };
}

PipelineStep stepOf(std::string name, const SessionStepSettings& settings) {
  PipelineStep step;
  step.name = std::move(name);
  step.timeout = settings.timeout;
  step.retry = settings.retry;
  step.critical = settings.critical;
  return step;
}

}  // namespace

SessionStepSettings EcsSessionCleanupOptions::defaultUploadLogs() {
  return {milliseconds(30000), backoff(5, milliseconds(100), milliseconds(2000)), false};
}
SessionStepSettings EcsSessionCleanupOptions::defaultDeregisterTarget() {
  return {milliseconds(10000), backoff(6, milliseconds(50), milliseconds(2000)), true};
}
SessionStepSettings EcsSessionCleanupOptions::defaultReleaseState() {
  return {milliseconds(5000), RetryPolicy::once(), false};
}
SessionStepSettings EcsSessionCleanupOptions::defaultStopTask() {
  return {milliseconds(60000), backoff(5, milliseconds(50), milliseconds(2000)), true};
}
SessionStepSettings EcsSessionCleanupOptions::defaultMarkCleaned() {
  return {milliseconds(5000), backoff(3, milliseconds(50), milliseconds(1000)), true};
}

void SessionProgress::markUploaded(const std::filesystem::path& relativePath) {
  std::lock_guard lock(mutex_);
  uploaded_.insert(relativePath);
}

bool SessionProgress::uploaded(const std::filesystem::path& relativePath) const {
  std::lock_guard lock(mutex_);
  return uploaded_.count(relativePath) > 0;
}

std::vector<std::filesystem::path> SessionProgress::keptLocally() const {
  std::vector<std::filesystem::path> kept;
  for (const auto& relative : logFilesBelow(session_.logDirectory)) {
    if (!uploaded(relative)) kept.push_back(session_.logDirectory / relative);
  }
  return kept;
}

std::vector<std::filesystem::path> logFilesBelow(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> files;
  if (directory.empty()) return files;
  std::error_code error;
  std::filesystem::recursive_directory_iterator it(directory, error), end;
  for (; !error && it != end; it.increment(error)) {
    std::error_code typeError;
    if (it->is_regular_file(typeError)) files.push_back(std::filesystem::relative(it->path(), directory, typeError));
  }
  std::sort(files.begin(), files.end());
  return files;
}

void describeKeptLogs(PipelineReport& report, const SessionProgress& progress) {
  const auto kept = progress.keptLocally();
  if (kept.empty()) return;
  const std::string note = "kept locally: " + join(kept);
  for (auto& step : report.steps) {
    if (step.name != kUploadLogsStep) continue;
    step.detail = step.detail.empty() ? note : step.detail + "; " + note;
    if (!step.error.empty() && step.error.find("kept locally") == std::string::npos) step.error += "; " + note;
  }
}

Result<Pipeline> defineSessionCleanup(std::shared_ptr<EcsSessionApi> api, EcsSessionCleanupOptions options,
                                      SessionLookup lookup) {
  if (!api) return Error::permanent("session cleanup: no EcsSessionApi given");
  if (!lookup) return Error::permanent("session cleanup: no session lookup given");
  auto steps = std::make_shared<const Steps>(Steps{std::move(api), std::move(options), std::move(lookup)});
  const auto& o = steps->options;

  PipelineStep upload = stepOf(kUploadLogsStep, o.uploadLogs);
  upload.run = bodyOf(steps, [](const Steps& s, SessionProgress& p, const StepContext& c) {
    return uploadLogs(s, p, c);
  });
  PipelineStep deregister = stepOf(kDeregisterTargetStep, o.deregisterTarget);
  deregister.run = bodyOf(steps, [](const Steps& s, SessionProgress& p, const StepContext& c) {
    return deregisterTarget(s, p.session(), c);
  });
  PipelineStep release = stepOf(kReleaseStateStep, o.releaseState);
  release.run = bodyOf(steps, [](const Steps& s, SessionProgress& p, const StepContext& c) {
    return callback(s.options.releaseStateCallback, p.session(), c);
  });
  PipelineStep stop = stepOf(kStopTaskStep, o.stopTask);
  stop.after = {kUploadLogsStep, kDeregisterTargetStep, kReleaseStateStep};
  stop.run = bodyOf(steps, [](const Steps& s, SessionProgress& p, const StepContext& c) {
    return stopTask(s, p.session(), c);
  });
  PipelineStep mark = stepOf(kMarkCleanedStep, o.markCleaned);
  mark.needs = {kStopTaskStep, kDeregisterTargetStep};
  mark.run = bodyOf(steps, [](const Steps& s, SessionProgress& p, const StepContext& c) {
    return callback(s.options.markCleanedCallback, p.session(), c);
  });
  return Pipeline::define(kSessionCleanupPipeline,
                          {std::move(upload), std::move(deregister), std::move(release), std::move(stop),
                           std::move(mark)});
}

}  // namespace cleanroom::aws

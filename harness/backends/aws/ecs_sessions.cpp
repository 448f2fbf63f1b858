#include "cleanroom/aws/ecs_sessions.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cleanroom/fail_safe.h"
#include "cleanroom/journal.h"
#include "cleanroom/run.h"
#include "cleanroom/selector.h"
#include "cleanroom/trace.h"

namespace cleanroom::aws {

struct EcsSessions::Registry {
  mutable std::mutex mutex;
  std::vector<std::string> order;  // ids in opening order
  std::map<std::string, std::shared_ptr<SessionProgress>> open;

  std::shared_ptr<SessionProgress> find(const std::string& id) const {
    std::lock_guard lock(mutex);
    auto it = open.find(id);
    return it == open.end() ? nullptr : it->second;
  }
  void erase(const std::string& id) {
    std::lock_guard lock(mutex);
    open.erase(id);
    std::erase(order, id);
  }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mutex);
    return order;
  }
};

namespace {

std::string resolveRunId(const std::string& configured) {
  const std::string id = configured.empty() ? run::id() : configured;
  if (Status valid = run::validateId(id, "EcsSessionsOptions::runId"); !valid.ok()) {
    throw ConfigError(valid.error().message);
  }
  return id;
}

Pipeline definePipeline(std::shared_ptr<EcsSessionApi> api, const EcsSessionCleanupOptions& options,
                        SessionLookup lookup) {
  auto pipeline = defineSessionCleanup(std::move(api), options, std::move(lookup));
  if (!pipeline) throw ConfigError("EcsSessions: " + pipeline.error().message);
  return std::move(pipeline).value();
}

Resource taskResource(const Backend& tasks, const EcsSession& session) {
  Resource task;
  task.backend = tasks.name();
  task.id = session.taskArn;
  task.name = session.id;
  task.labels = session.labels;
  task.labels[kRunLabel] = session.runId;
  task.runId = session.runId;
  return task;
}

bool finished(ResourceState state) { return state == ResourceState::Terminal || state == ResourceState::Gone; }

void traceReport(const PipelineReport& report) {
  logger().log(report.ok ? spdlog::level::debug : spdlog::level::info, "{}", report.summary());
}

}  // namespace

EcsSessions::EcsSessions(std::shared_ptr<EcsSessionApi> api, Backend& tasks, EcsSessionsOptions options, Clock& clock)
    : api_(api),
      tasks_(tasks),
      options_(std::move(options)),
      clock_(clock),
      runId_(resolveRunId(options_.runId)),
      registry_(std::make_shared<Registry>()),
      pipeline_(definePipeline(std::move(api), options_.cleanup,
                               [registry = registry_](const std::string& id) { return registry->find(id); })) {
  if (!options_.failSafe) return;
  failSafeId_ = addFailSafeCleanup("ecs-sessions", [this](const std::string& trigger) {
    const EcsSessionsReport report = cleanupAll(std::max<std::size_t>(1, openSessions().size()));
    logger().info("step=ecs-sessions-fail-safe trigger={} {}", trigger, report.summary());
  });
}

EcsSessions::~EcsSessions() {
  if (failSafeId_ != 0) removeFailSafeCleanup(failSafeId_);
}

Status EcsSessions::open(EcsSession session) {
  if (session.runId.empty()) session.runId = runId_;
  if (const std::string problem = session.problem(); !problem.empty()) return Error::permanent(problem);
  if (session.runId != runId_) {
    return Error::permanent("session '" + session.id + "' belongs to run '" + session.runId +
                            "', not to this registry's run '" + runId_ + "': open it in its own run's EcsSessions");
  }
  auto progress = std::make_shared<SessionProgress>(session);
  {
    std::lock_guard lock(registry_->mutex);
    if (registry_->open.count(session.id)) {
      return Error::permanent("session '" + session.id + "' is already open: session ids must be unique in a run");
    }
    registry_->open.emplace(session.id, progress);
    registry_->order.push_back(session.id);
  }
  if (options_.journal) (void)journal::recordCreated(tasks_, taskResource(tasks_, session));
  logger().debug("step=session-open session={} task={} target-group={} run={}", session.id, session.taskArn,
                 session.targetGroupArn.empty() ? "-" : session.targetGroupArn, session.runId);
  return Status::success();
}

PipelineReport EcsSessions::cleanup(const std::string& sessionId) {
  auto progress = registry_->find(sessionId);
  PipelineReport report = pipeline_.run(sessionId, clock_);
  if (progress) {
    describeKeptLogs(report, *progress);
    const StepReport* stop = report.step(kStopTaskStep);
    if (options_.journal && stop && stop->ok()) (void)journal::recordCleaned(taskResource(tasks_, progress->session()));
    if (report.ok) registry_->erase(sessionId);
  }
  traceReport(report);
  return report;
}

EcsSessionsReport EcsSessions::cleanupAll(std::size_t concurrency) {
  EcsSessionsReport all;
  const std::vector<std::string> ids = registry_->ids();
  std::vector<std::shared_ptr<SessionProgress>> progress;
  for (const auto& id : ids) progress.push_back(registry_->find(id));
  all.sessions = pipeline_.runAll(ids, clock_, concurrency);

  std::set<std::string> stoppedTasks;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    PipelineReport& report = all.sessions[i];
    if (!progress[i]) continue;
    describeKeptLogs(report, *progress[i]);
    const StepReport* stop = report.step(kStopTaskStep);
    if (stop && stop->ok()) {
      stoppedTasks.insert(progress[i]->session().taskArn);
      if (options_.journal) (void)journal::recordCleaned(taskResource(tasks_, progress[i]->session()));
    }
    if (report.ok) registry_->erase(ids[i]);
    traceReport(report);
  }

  const Selector selector = Selector::forRun(runId_);
  auto listed = tasks_.list(selector);
  if (!listed) {
    all.listError = "listing run " + runId_ + "'s tasks (" + tasks_.name() + "): " + listed.error().describe();
    logger().info("step=session-leftovers run={} result=failed error=\"{}\"", runId_, all.listError);
  } else {
    std::vector<LeftoverReport> asked;
    for (const Resource& task : listed.value()) {
      if (!selector.matches(task, clock_.wallNow()) || task.runId != runId_) continue;
      if (finished(task.state) || stoppedTasks.count(task.id)) continue;
      LeftoverReport leftover{task, false, "", ""};
      Status stop = tasks_.requestStop(task, StopMode::Force);
      if (stop.ok()) {
        leftover.outcome = "stop requested";
      } else if (stop.error().isGone()) {
        leftover.ok = true;
        leftover.outcome = "already gone";
      } else {
        leftover.outcome = "failed";
        leftover.error = stop.error().describe();
      }
      asked.push_back(std::move(leftover));
    }
    const SteadyTime deadline = clock_.now() + options_.leftoverWait;
    for (auto& leftover : asked) {
      if (leftover.outcome == "stop requested") {
        const milliseconds left = std::max(millisBetween(clock_.now(), deadline), milliseconds(0));
        auto state = tasks_.awaitFinished(leftover.task, left);
        if (!state) {
          leftover.outcome = "failed";
          leftover.error = "waiting for it to stop: " + state.error().describe();
        } else if (finished(state->state)) {
          leftover.ok = true;
          leftover.outcome = "stopped";
        } else {
          leftover.outcome = "still " + std::string(toString(state->state));
          leftover.error = "still " + state->status + " after " + std::to_string(options_.leftoverWait.count()) +
                           " ms";
        }
      }
      logger().info("step=session-leftover ref={} run={} result={}{}", leftover.task.ref(), runId_,
                    leftover.ok ? "ok" : "failed", leftover.error.empty() ? "" : " error=\"" + leftover.error + "\"");
    }
    all.leftovers = std::move(asked);
  }

  all.ok = all.listError.empty();
  for (const auto& report : all.sessions) all.ok = all.ok && report.ok;
  for (const auto& leftover : all.leftovers) all.ok = all.ok && leftover.ok;
  logger().log(all.ok ? spdlog::level::debug : spdlog::level::info, "{}", all.summary());
  return all;
}

std::vector<EcsSession> EcsSessions::openSessions() const {
  std::vector<EcsSession> out;
  for (const auto& id : registry_->ids()) {
    if (auto progress = registry_->find(id)) out.push_back(progress->session());
  }
  return out;
}

nlohmann::json EcsSessionsReport::toJson() const {
  nlohmann::json sessionList = nlohmann::json::array();
  for (const auto& report : sessions) sessionList.push_back(report.toJson());
  nlohmann::json leftoverList = nlohmann::json::array();
  for (const auto& leftover : leftovers) {
    leftoverList.push_back({{"id", leftover.task.id},
                            {"name", leftover.task.name},
                            {"ok", leftover.ok},
                            {"outcome", leftover.outcome},
                            {"error", leftover.error}});
  }
  return {{"ok", ok}, {"sessions", sessionList}, {"leftovers", leftoverList}, {"listError", listError}};
}

std::string EcsSessionsReport::summary() const {
  const auto cleaned = std::count_if(sessions.begin(), sessions.end(), [](const auto& r) { return r.ok; });
  const auto stopped = std::count_if(leftovers.begin(), leftovers.end(), [](const auto& l) { return l.ok; });
  std::ostringstream out;
  out << "ecs sessions" << (ok ? " ok" : " FAILED") << ": " << cleaned << " cleaned, "
      << (static_cast<long>(sessions.size()) - cleaned) << " failed; leftovers: " << stopped << " stopped, "
      << (static_cast<long>(leftovers.size()) - stopped) << " failed";
  if (!listError.empty()) out << "; " << listError;
  return out.str();
}

}  // namespace cleanroom::aws

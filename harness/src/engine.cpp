#include "cleanroom/engine.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "cleanroom/journal.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

// Most threads awaiting exits at once (each may hold one long-poll).
constexpr int kMaxAwaitThreads = 256;

// Runs fn(0..count-1) on at most `workers` threads; returns when all are done.
template <class Fn>
void forEachParallel(std::size_t count, int workers, Fn fn) {
  if (count == 0) return;
  const std::size_t threads = std::min<std::size_t>(count, static_cast<std::size_t>(std::max(1, workers)));
  std::atomic<std::size_t> next{0};
  auto drain = [&] {
    for (std::size_t i = next++; i < count; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(drain);
  drain();
  for (auto& t : pool) t.join();
}

// The end of a cleanup's overall deadline, or the far future without one.
SteadyTime overallEnd(const CleanupOptions& options, SteadyTime start) {
  if (options.deadline <= milliseconds::zero()) return SteadyTime::max();
  return start + options.deadline;
}

// `retry` with its deadline cut to the time left before `end` (zero once
// `end` has passed: one attempt, no retry).
RetryPolicy policyUntil(const RetryPolicy& retry, Clock& clock, SteadyTime end) {
  if (end == SteadyTime::max()) return retry;
  RetryPolicy cut = retry;
  const milliseconds left = std::max(milliseconds::zero(), millisBetween(clock.now(), end));
  cut.deadline = std::min(cut.deadline, left);
  return cut;
}

// One resource's cleanup in progress.
struct Work {
  Resource resource;
  Backend* backend = nullptr;
  ResourceReport report;
  SteadyTime stopRequestedAt{};
  bool stopRequested = false;
  bool finished = false;  // terminal or gone
  bool deadlinePassed = false;  // a wait was cut short by the overall deadline
  std::string gracefulFailure;  // the graceful stop kept failing: force it
};

class CleanupRun {
 public:
  // `failFastRef` names the resource whose failure already ended new work
  // in an earlier stage (empty: none).
  CleanupRun(const CleanupEngine& engine, std::vector<Work> work, std::string failFastRef, SteadyTime end)
      : options_(engine.options()),
        clock_(engine.clock()),
        end_(end),
        work_(std::move(work)),
        failFastTriggered_(!failFastRef.empty()),
        failFastRef_(std::move(failFastRef)) {}

  void requestStops() {
    int workers = options_.concurrency;
    for (const Work& w : work_) {
      if (w.backend != nullptr) workers = std::max(workers, std::min(w.backend->stopConcurrency(), kMaxAwaitThreads));
    }
    forEachParallel(work_.size(), workers, [&](std::size_t i) { requestStop(work_[i]); });
  }

  void awaitExits() {
    if (failFastTriggered_) return;
    forEachParallel(work_.size(), kMaxAwaitThreads, [&](std::size_t i) { awaitExit(work_[i]); });
  }

  std::vector<Work>& work() { return work_; }
  // The resource whose failure triggered fail-fast, or "".
  std::string failFastRef() const { return failFastTriggered_ ? failFastRef_ : std::string(); }

 private:
  void record(Work& w, ActionRecord action) {
    w.report.attempts += action.attempts;
    w.report.actions.push_back(std::move(action));
  }

  void markFinished(Work& w, const ResourceStatus& status) {
    w.finished = true;
    w.report.finalState = status.state;
    w.report.finalStatus = status.status;
  }

  void fail(Work& w, std::string message) {
    w.report.errors.push_back(std::move(message));
    if (options_.failureMode == FailureMode::FailFast && !failFastTriggered_.exchange(true)) {
      logger().info("step=fail-fast ref={} reason=first-failure", w.resource.ref());
      failFastRef_ = w.resource.ref();
    }
  }

  Status stopWithRetries(Work& w, StopMode mode) {
    RetryStats stats;
    const std::string what = std::string("stop ") + w.resource.ref() + " " + toString(mode);
    Status status = retryCall(policyUntil(options_.retry, clock_, end_), clock_, what,
                              [&] { return w.backend->requestStop(w.resource, mode); }, &stats);
    const bool gone = !status.ok() && status.error().isGone();
    record(w, {mode == StopMode::Graceful ? "stop" : "force", stats.attempts, stats.elapsed, status.ok() || gone,
               status.ok() ? toString(mode) : (gone ? "gone" : status.error().describe()), stats.failures});
    logger().debug("step={} ref={} mode={} result={} attempts={} ms={}", mode == StopMode::Graceful ? "stop" : "force",
                   w.resource.ref(), toString(mode), status.ok() ? "ok" : toString(status.error().kind),
                   stats.attempts, stats.elapsed.count());
    return status;
  }

  void requestStop(Work& w) {
    if (w.backend == nullptr) return;
    if (failFastTriggered_) {
      w.report.skipped = true;
      w.report.errors.push_back("not attempted: fail-fast after " + failFastRef_ + " failed");
      return;
    }
    Status status = stopWithRetries(w, StopMode::Graceful);
    w.stopRequestedAt = clock_.now();
    if (status.ok()) {
      w.stopRequested = true;
      return;
    }
    if (status.error().isGone()) {
      markFinished(w, {ResourceState::Gone, "deleted"});
      return;
    }
    if (status.error().isRetryable() && options_.escalateToForce) {
      // A graceful stop that kept failing (e.g. a daemon holding `stop`
      // past the request timeout) is forced when the exits are awaited,
      // rather than left running.
      w.gracefulFailure = status.error().describe();
      logger().info("step=escalate ref={} reason=graceful-stop-failed error=\"{}\"", w.resource.ref(),
                    w.gracefulFailure);
      return;
    }
    fail(w, "graceful stop failed: " + status.error().describe());
  }

  // Waits until `w` is finished or `until`; returns true when finished.
  bool awaitUntil(Work& w, SteadyTime until, const char* phase) {
    const SteadyTime start = clock_.now();
    const bool cut = end_ < until;
    until = std::min(until, end_);
    int requests = 0;
    ResourceStatus last{ResourceState::Unknown, w.resource.status};
    std::string error;
    std::vector<std::string> failures;
    auto observe = [&](const Result<ResourceStatus>& r) -> bool {
      ++requests;
      if (r.ok()) {
        last = r.value();
        return isFinished(last.state);
      }
      if (r.error().isGone()) {
        last = {ResourceState::Gone, "deleted"};
        return true;
      }
      if (!r.error().isRetryable()) {
        error = r.error().describe();
        return true;  // stop waiting: a permanent error will not go away
      }
      if (failures.size() < RetryStats::kMaxRecordedFailures) {
        failures.push_back("poll " + std::to_string(requests) + ": " + r.error().describe());
      }
      return false;
    };
    bool done = false;
    int failedPolls = 0;
    while (!done && w.backend->canAwait() && clock_.now() < until) {
      const auto slice = std::min(options_.longPollSlice, millisBetween(clock_.now(), until));
      if (slice <= milliseconds::zero()) break;
      const SteadyTime asked = clock_.now();
      auto result = w.backend->awaitFinished(w.resource, slice);
      done = observe(result);
      if (done || !error.empty()) break;
      // A long-poll that came back early without news (transient failure,
      // server restarting, a server capping the wait): pace, never spin.
      if (result.ok() && millisBetween(asked, clock_.now()) * 2 >= slice) continue;
      clock_.sleepUntil(std::min(until, clock_.now() + options_.pacing.intervalAfter(failedPolls++)));
    }
    if (!done && error.empty()) {
      done = waitUntil(clock_, until, options_.pacing, [&] { return observe(w.backend->probe(w.resource)); }).met;
    }
    const auto ms = millisBetween(start, clock_.now());
    const bool finished = error.empty() && isFinished(last.state);
    record(w, {phase, requests, ms, finished, "status=" + (last.status.empty() ? toString(last.state) : last.status),
               std::move(failures)});
    logger().debug("step={} ref={} result={} status={} requests={} ms={}", phase, w.resource.ref(),
                   finished ? "finished" : (error.empty() ? "timeout" : "error"), last.status, requests, ms.count());
    w.report.finalState = last.state;
    w.report.finalStatus = last.status;
    if (!error.empty()) fail(w, std::string(phase) + " failed: " + error);
    if (finished) markFinished(w, last);
    if (!finished && error.empty() && cut) w.deadlinePassed = true;
    return finished;
  }

  void awaitExit(Work& w) {
    if (!w.finished && !w.gracefulFailure.empty()) {
      force(w);
      return;
    }
    if (w.finished || !w.stopRequested) return;
    if (awaitUntil(w, w.stopRequestedAt + options_.gracePeriod, "await")) return;
    if (!w.report.errors.empty()) return;
    if (options_.escalateToForce) force(w);
    if (!w.finished && w.report.errors.empty() && w.deadlinePassed) {
      fail(w, "the cleanup's deadline (" + std::to_string(options_.deadline.count()) + " ms) passed while it was " +
                  (w.report.finalStatus.empty() ? toString(w.report.finalState) : w.report.finalStatus));
    }
  }

  // Escalates to a forced stop (also when the deadline cut the grace
  // period short: one attempt, so nothing is left merely asked to stop).
  void force(Work& w) {
    const char* reason = !w.gracefulFailure.empty() ? "graceful-stop-failed"
                         : w.deadlinePassed         ? "deadline"
                                                    : "grace-period-elapsed";
    logger().info("step=escalate ref={} reason={} grace_ms={}", w.resource.ref(), reason, options_.gracePeriod.count());
    w.report.forced = true;
    Status status = stopWithRetries(w, StopMode::Force);
    if (!status.ok() && status.error().isGone()) {
      markFinished(w, {ResourceState::Gone, "deleted"});
      return;
    }
    if (!status.ok()) {
      if (!w.gracefulFailure.empty()) fail(w, "graceful stop failed: " + w.gracefulFailure);
      fail(w, "forced stop failed: " + status.error().describe());
      return;
    }
    awaitUntil(w, clock_.now() + options_.forceTimeout, "await-force");
  }

  const CleanupOptions& options_;
  Clock& clock_;
  SteadyTime end_;
  std::vector<Work> work_;
  std::atomic<bool> failFastTriggered_{false};
  std::string failFastRef_;
};

ResourceReport reportFor(const Resource& r, WallTime now) {
  ResourceReport rep;
  rep.backend = r.backend;
  rep.id = r.id;
  rep.name = r.name;
  rep.runId = r.runId;
  rep.initialStatus = r.status;
  rep.finalStatus = r.status;
  rep.finalState = r.state;
  if (r.createdAt) rep.age = std::chrono::duration_cast<milliseconds>(now - *r.createdAt);
  return rep;
}

// Builds the per-agent teardown records from the resources carrying
// kAgentLabel: the engine's view (an Agents resource still alive), then each
// backend's details.
std::vector<AgentTeardown> teardownsOf(std::vector<Work>& work, bool zombiesAreCritical) {
  std::vector<AgentTeardown> agents;
  for (Work& w : work) {
    const auto label = w.resource.labels.find(kAgentLabel);
    if (label == w.resource.labels.end() || label->second.empty()) continue;
    auto it = std::find_if(agents.begin(), agents.end(),
                           [&](const AgentTeardown& a) { return a.agentId == label->second; });
    if (it == agents.end()) {
      agents.push_back({});
      it = std::prev(agents.end());
      it->agentId = label->second;
      it->zombiesCritical = zombiesAreCritical;
    }
    it->resources.push_back(w.resource.ref());
    const bool running = w.backend == nullptr || w.backend->stage() == CleanupStage::Agents;
    if (running && !w.finished) it->sessionKilled = false;
    for (const auto& e : w.report.errors) it->errors.push_back(w.resource.ref() + ": " + e);
    if (w.backend != nullptr) w.backend->describeTeardown(w.resource, *it);
  }
  for (const AgentTeardown& a : agents) {
    logger().debug("step=teardown agent={} session_killed={} prompt_deleted={} logs_archived={} archived={} "
                   "no_zombies={} result={}",
                   a.agentId, a.sessionKilled, a.promptDeleted, a.logsArchived, a.archivedFiles.size(), a.noZombies,
                   a.success() ? "ok" : "not-clean");
  }
  return agents;
}

// Marks what the verifying listing still shows as active; returns newcomers.
std::vector<ResourceReport> verify(const Inventory& after, std::vector<Work>& work, WallTime now) {
  std::vector<ResourceReport> newcomers;
  for (const auto& r : after.resources) {
    auto it = std::find_if(work.begin(), work.end(), [&](const Work& w) {
      return w.resource.backend == r.backend && w.resource.id == r.id;
    });
    if (it == work.end()) {
      ResourceReport rep = reportFor(r, now);
      rep.errors.push_back("appeared during cleanup (status " + r.status + ")");
      newcomers.push_back(std::move(rep));
      continue;
    }
    if (!it->finished) continue;
    it->finished = false;
    it->report.finalState = r.state;
    it->report.finalStatus = r.status;
    it->report.errors.push_back("still listed as " + r.status + " after cleanup");
  }
  return newcomers;
}

}  // namespace

CleanupEngine::CleanupEngine(CleanupOptions options, Clock& clock) : options_(std::move(options)), clock_(clock) {}

void CleanupEngine::addBackend(std::shared_ptr<Backend> backend) {
  if (!backend) throw std::invalid_argument("CleanupEngine::addBackend: backend is null");
  backends_.push_back(std::move(backend));
}

std::shared_ptr<Backend> CleanupEngine::backend(const std::string& name) const {
  for (const auto& b : backends_) {
    if (b->name() == name) return b;
  }
  return nullptr;
}

namespace {

// Lists `backends` in parallel, each with the engine's retry policy cut to
// the time left before `end`.
Inventory listBackends(const CleanupEngine& engine, const Selector& selector,
                       const std::vector<std::shared_ptr<Backend>>& backends, SteadyTime end = SteadyTime::max()) {
    std::vector<Result<std::vector<Resource>>> results(backends.size(), Error::permanent("not listed"));
  std::vector<RetryStats> listStats(backends.size());
  forEachParallel(backends.size(), static_cast<int>(backends.size()), [&](std::size_t i) {
    auto& backend = *backends[i];
    RetryStats& stats = listStats[i];
    results[i] = retryResult<std::vector<Resource>>(policyUntil(engine.options().retry, engine.clock(), end),
                                                    engine.clock(), "list " + backend.name(),
                                                    [&] { return backend.list(selector); }, &stats);
    logger().debug("step=list backend={} result={} listed={} attempts={} ms={}", backend.name(),
                   results[i].ok() ? "ok" : "error", results[i].ok() ? results[i].value().size() : 0,
                   stats.attempts, stats.elapsed.count());
  });
  Inventory inventory;
  const WallTime now = engine.clock().wallNow();
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const std::string name = backends[i]->name();
    if (!results[i].ok()) {
      inventory.errors.push_back(name + ": list failed: " + results[i].error().describe());
      continue;
    }
    for (const auto& failure : listStats[i].failures) inventory.retried.push_back(name + ": list " + failure);
    std::size_t matching = 0;
    for (auto r : results[i].value()) {
      if (r.backend.empty()) r.backend = name;
      if (!selector.matches(r, now)) continue;
      inventory.resources.push_back(std::move(r));
      inventory.listedBy.push_back(backends[i]);
      ++matching;
    }
    logger().debug("step=select backend={} selector=\"{}\" matching={}", name, selector.describe(), matching);
  }
  return inventory;
}

std::vector<std::shared_ptr<Backend>> backendsOfStage(const CleanupEngine& engine, CleanupStage stage) {
  std::vector<std::shared_ptr<Backend>> chosen;
  for (const auto& b : engine.backends()) {
    if (b->stage() == stage) chosen.push_back(b);
  }
  return chosen;
}

std::vector<Work> workFor(const CleanupEngine& engine, const Inventory& found) {
  const WallTime now = engine.clock().wallNow();
  std::vector<Work> work;
  for (std::size_t i = 0; i < found.resources.size(); ++i) {
    const Resource& r = found.resources[i];
    Work w;
    w.resource = r;
    w.backend = i < found.listedBy.size() ? found.listedBy[i].get() : engine.backend(r.backend).get();
    w.report = reportFor(r, now);
    if (w.backend == nullptr) {
      w.report.errors.push_back("no backend named '" + r.backend + "' is configured");
      w.report.skipped = true;
    }
    work.push_back(std::move(w));
  }
  return work;
}

}  // namespace

Inventory CleanupEngine::list(const Selector& selector) const { return listBackends(*this, selector, backends_); }

CleanupReport CleanupEngine::cleanup(const Selector& selector) const {
  const SteadyTime start = clock_.now();
  const SteadyTime end = overallEnd(options_, start);
  const Selector scope = selector.states.empty() ? selector.activeOnly() : selector;
  CleanupReport report;
  report.runId = scope.runId.value_or("*");
  report.selector = scope.describe();
  report.dryRun = options_.dryRun;
  report.failFast = options_.failureMode == FailureMode::FailFast;
  logger().debug("step=cleanup-start selector=\"{}\" dry_run={} backends={}", report.selector, report.dryRun,
                 backends_.size());

  std::vector<Work> work;
  bool foundAny = false;
  if (options_.dryRun) {
    Inventory found = listBackends(*this, scope, backends_, end);
    report.errors = found.errors;
    work = workFor(*this, found);
    for (auto& w : work) {
      w.report.skipped = true;
      w.report.actions.push_back({"plan", 0, milliseconds(0), true, "would stop (graceful, then force)", {}});
      logger().info("step=plan ref={} status={} action=would-stop", w.resource.ref(), w.resource.status);
    }
  }
  std::vector<ResourceReport> newcomers;
  std::string failFastRef;
  for (CleanupStage stage : {CleanupStage::Agents, CleanupStage::Files}) {
    if (options_.dryRun) break;
    const auto stageBackends = backendsOfStage(*this, stage);
    if (stageBackends.empty()) continue;
    Inventory found = listBackends(*this, scope, stageBackends, end);
    report.errors.insert(report.errors.end(), found.errors.begin(), found.errors.end());
    report.retried.insert(report.retried.end(), found.retried.begin(), found.retried.end());
    foundAny = foundAny || !found.resources.empty();
    logger().debug("step=stage stage={} backends={} found={}", toString(stage), stageBackends.size(),
                   found.resources.size());
    CleanupRun run(*this, workFor(*this, found), failFastRef, end);
    run.requestStops();
    run.awaitExits();
    failFastRef = run.failFastRef();
    for (auto& w : run.work()) work.push_back(std::move(w));
  }
  if (!options_.dryRun && foundAny) {
    Inventory after = listBackends(*this, scope, backends_, end);
    for (const auto& e : after.errors) report.errors.push_back("verify: " + e);
    for (const auto& r : after.retried) report.retried.push_back("verify: " + r);
    newcomers = verify(after, work, clock_.wallNow());
  }
  if (!options_.dryRun) report.agents = teardownsOf(work, options_.zombiesAreCritical);
  for (const auto& w : work) {
    if (!options_.dryRun && w.finished) (void)journal::recordCleaned(w.resource);
  }
  for (auto& w : work) {
    w.report.cleaned = w.finished;
    w.report.duration = millisBetween(start, clock_.now());
    report.resources.push_back(std::move(w.report));
  }
  for (auto& n : newcomers) report.resources.push_back(std::move(n));
  report.elapsed = millisBetween(start, clock_.now());
  report.finalize();
  logger().log(report.success ? spdlog::level::info : spdlog::level::warn,
               "step=cleanup-done selector=\"{}\" found={} cleaned={} remaining={} failed={} forced={} ms={}",
               report.selector, report.totals.found, report.totals.cleaned, report.totals.remaining,
               report.totals.failed, report.totals.forced, report.elapsed.count());
  return report;
}

}  // namespace cleanroom

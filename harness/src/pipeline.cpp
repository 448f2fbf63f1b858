#include "cleanroom/pipeline.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cleanroom/trace.h"

namespace cleanroom {

// Counts the step threads of one definition that are still running, across
// all of its runs, so a caller can wait for abandoned ones.
struct StepThreadCount {
  std::mutex mutex;
  std::condition_variable idle;
  std::size_t running = 0;

  void enter() {
    std::lock_guard lock(mutex);
    ++running;
  }
  void leave() {
    std::lock_guard lock(mutex);
    if (--running == 0) idle.notify_all();
  }
};

struct Pipeline::Definition {
  std::string name;
  std::vector<PipelineStep> steps;
  std::vector<std::vector<std::size_t>> predecessors;  // after ∪ needs, as indices
  std::vector<std::vector<std::size_t>> needs;
  milliseconds bound{0};
  std::shared_ptr<StepThreadCount> threads = std::make_shared<StepThreadCount>();
};

namespace {

using Definition = Pipeline::Definition;
using Outcome = StepReport::Outcome;

// How long the coordinator waits at most before it looks at the clock again:
// a fake clock can move without telling anyone.
constexpr milliseconds kClockCheckInterval{10};

// ---- definition -----------------------------------------------------------

Error definitionError(const std::string& pipeline, const std::string& what) {
  return Error::permanent("pipeline '" + pipeline + "': " + what);
}

// Returns the indices of `names`, or the first name that is no step.
Result<std::vector<std::size_t>> indicesOf(const std::vector<std::string>& names,
                                          const std::map<std::string, std::size_t>& index, const std::string& pipeline,
                                          const std::string& step, const char* list) {
  std::vector<std::size_t> out;
  for (const auto& name : names) {
    auto it = index.find(name);
    if (it == index.end()) {
      return definitionError(pipeline, "step '" + step + "' lists '" + name + "' in " + list +
                                           ", but no step has that name; define it or fix the name");
    }
    out.push_back(it->second);
  }
  return out;
}

// Returns a topological order, or an error naming a cycle.
Result<std::vector<std::size_t>> orderSteps(const Definition& d) {
  const std::size_t n = d.steps.size();
  std::vector<std::size_t> pending(n);
  std::vector<std::vector<std::size_t>> successors(n);
  for (std::size_t i = 0; i < n; ++i) {
    pending[i] = d.predecessors[i].size();
    for (std::size_t p : d.predecessors[i]) successors[p].push_back(i);
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) order.push_back(i);
  }
  for (std::size_t k = 0; k < order.size(); ++k) {
    for (std::size_t s : successors[order[k]]) {
      if (--pending[s] == 0) order.push_back(s);
    }
  }
  if (order.size() == n) return order;
  // Every step left has a predecessor that is left too: walk them to a cycle.
  std::size_t at = 0;
  while (pending[at] == 0) ++at;
  std::vector<std::size_t> walk;
  std::vector<bool> seen(n, false);
  while (!seen[at]) {
    seen[at] = true;
    walk.push_back(at);
    for (std::size_t p : d.predecessors[at]) {
      if (pending[p] != 0) {
        at = p;
        break;
      }
    }
  }
  std::string cycle = d.steps[at].name;
  auto from = std::find(walk.begin(), walk.end(), at);
  for (auto it = walk.rbegin(); it != std::make_reverse_iterator(from); ++it) cycle += " → " + d.steps[*it].name;
  return definitionError(d.name, "steps wait for each other in a cycle (" + cycle +
                                     "); remove one of these after/needs entries");
}

Status checkStep(const std::string& pipeline, const PipelineStep& step, std::set<std::string>& names) {
  if (step.name.empty()) return definitionError(pipeline, "a step has no name; give every step a unique name");
  if (!names.insert(step.name).second) {
    return definitionError(pipeline, "two steps are named '" + step.name + "'; step names must be unique");
  }
  if (!step.run) return definitionError(pipeline, "step '" + step.name + "' has no run function; set PipelineStep::run");
  if (step.timeout <= milliseconds(0)) {
    return definitionError(pipeline, "step '" + step.name + "' has timeout " + std::to_string(step.timeout.count()) +
                                         " ms; give it a positive timeout");
  }
  return Status::success();
}

milliseconds longestChain(const Definition& d, const std::vector<std::size_t>& order) {
  std::vector<milliseconds> finish(d.steps.size(), milliseconds(0));
  milliseconds longest{0};
  for (std::size_t i : order) {
    milliseconds start{0};
    for (std::size_t p : d.predecessors[i]) start = std::max(start, finish[p]);
    finish[i] = start + d.steps[i].timeout;
    longest = std::max(longest, finish[i]);
  }
  return longest;
}

// ---- one run --------------------------------------------------------------

// What a step thread reports back; guarded by RunState::mutex.
struct StepSlot {
  bool finished = false;
  bool abandoned = false;  // set by the coordinator at the step's timeout
  int attempts = 0;
  std::vector<std::string> failures;
  std::optional<Error> error;  // the last outcome, when not success
  bool threw = false;
  SteadyTime finishedAt{};
};

struct RunState {
  explicit RunState(std::size_t steps) : slots(steps) {}
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<StepSlot> slots;
};

std::string what(const PipelineStep& step, const std::string& session) {
  return step.name + " session=" + session;
}

// Calls the step's function once; an exception becomes a Permanent error.
Status invokeStep(const PipelineStep& step, const StepContext& context, bool& threw) {
  try {
    return step.run(context);
  } catch (const std::exception& e) {
    threw = true;
    return Error::permanent(std::string("exception: ") + e.what());
  } catch (...) {
    threw = true;
    return Error::permanent("exception: (not a std::exception)");
  }
}

// The body of a step thread: the step's attempts under its retry policy,
// clamped to its deadline. Touches only what it shares ownership of (plus
// the clock and the step's own captures; see the header).
void runStepThread(std::shared_ptr<const Definition> d, std::shared_ptr<RunState> state, std::size_t index,
                   std::string session, Clock& clock, SteadyTime deadline) {
  const PipelineStep& step = d->steps[index];
  StepSlot& slot = state->slots[index];
  bool threw = false;
  std::optional<Error> last;
  try {
    RetryPolicy policy = step.retry;
    policy.deadline = std::max(milliseconds(0), std::min(policy.deadline, millisBetween(clock.now(), deadline)));
    int attempt = 0;
    Status status = retryCall(policy, clock, what(step, session), [&]() -> Status {
      {
        std::lock_guard lock(state->mutex);
        if (slot.abandoned) return Error::permanent("abandoned after its timeout");
        slot.attempts = ++attempt;
      }
      Status outcome = invokeStep(step, StepContext{clock, deadline, attempt, session, step.name}, threw);
      if (!outcome.ok() && !outcome.error().isGone()) {
        std::lock_guard lock(state->mutex);
        if (slot.failures.size() < RetryStats::kMaxRecordedFailures) {
          slot.failures.push_back("attempt " + std::to_string(attempt) + ": " + outcome.error().describe());
        }
      }
      return outcome;
    });
    if (!status.ok()) last = status.error();
  } catch (const std::exception& e) {
    threw = true;
    last = Error::permanent(std::string("exception: ") + e.what());
  }
  bool late = false;
  {
    std::lock_guard lock(state->mutex);
    slot.finished = true;
    slot.threw = threw;
    slot.error = last;
    slot.finishedAt = clock.now();
    late = slot.abandoned;
  }
  state->changed.notify_all();
  if (late) {
    logger().info("step={} pipeline={} session={} event=finished-late result={}{}", step.name, d->name, session,
                  last ? toString(last->kind) : "ok", last ? " error=\"" + last->message + "\"" : std::string());
  }
  d->threads->leave();
}

void traceEnd(const Definition& d, const std::string& session, const StepReport& r) {
  const auto level = r.ok() ? spdlog::level::debug : spdlog::level::info;
  logger().log(level, "step={} pipeline={} session={} result={} ms={} attempts={} critical={}{}", r.name, d.name,
               session, toString(r.outcome), r.duration.count(), r.attempts, r.critical,
               r.error.empty() ? std::string() : " error=\"" + r.error + "\"");
}

// Runs one session's steps: launches each step once its predecessors are
// done, collects results, abandons steps at their timeout.
class SessionRun {
 public:
  SessionRun(std::shared_ptr<const Definition> d, std::string session, Clock& clock)
      : d_(std::move(d)), session_(std::move(session)), clock_(clock), start_(clock.now()),
        state_(std::make_shared<RunState>(d_->steps.size())), phase_(d_->steps.size(), Phase::Pending),
        threads_(d_->steps.size()), deadlines_(d_->steps.size()), startedAt_(d_->steps.size()) {
    report_.pipeline = d_->name;
    report_.session = session_;
    for (const auto& step : d_->steps) {
      StepReport r;
      r.name = step.name;
      r.critical = step.critical;
      report_.steps.push_back(std::move(r));
    }
  }

  PipelineReport run() {
    std::unique_lock lock(state_->mutex);
    while (true) {
      startReadySteps();
      if (allDone()) break;
      if (collect(lock)) continue;
      waitForChange(lock);
    }
    lock.unlock();
    report_.elapsed = millisBetween(start_, clock_.now());
    report_.ok = std::all_of(report_.steps.begin(), report_.steps.end(),
                             [](const StepReport& r) { return !r.critical || r.ok(); });
    logger().log(report_.ok ? spdlog::level::debug : spdlog::level::info,
                 "step=pipeline pipeline={} session={} result={} ms={}", d_->name, session_,
                 report_.ok ? "ok" : "failed", report_.elapsed.count());
    return std::move(report_);
  }

 private:
  enum class Phase { Pending, Running, Done };

  bool allDone() const {
    return std::all_of(phase_.begin(), phase_.end(), [](Phase p) { return p == Phase::Done; });
  }

  bool ready(std::size_t i) const {
    return std::all_of(d_->predecessors[i].begin(), d_->predecessors[i].end(),
                       [&](std::size_t p) { return phase_[p] == Phase::Done; });
  }

  // Returns the first needed step that did not end Ok, or nullptr.
  const StepReport* failedNeed(std::size_t i) const {
    for (std::size_t n : d_->needs[i]) {
      if (!report_.steps[n].ok()) return &report_.steps[n];
    }
    return nullptr;
  }

  void startReadySteps() {
    for (bool progressed = true; progressed;) {
      progressed = false;
      for (std::size_t i = 0; i < phase_.size(); ++i) {
        if (phase_[i] != Phase::Pending || !ready(i)) continue;
        progressed = true;
        if (const StepReport* need = failedNeed(i)) {
          skip(i, *need);
        } else {
          launch(i);
        }
      }
    }
  }

  void skip(std::size_t i, const StepReport& need) {
    StepReport& r = report_.steps[i];
    r.outcome = Outcome::Skipped;
    r.startedAt = millisBetween(start_, clock_.now());
    r.error = "skipped: needs " + need.name + " which " +
              (need.outcome == Outcome::Skipped ? "was skipped" : std::string(need.outcome == Outcome::TimedOut
                                                                                 ? "timed out"
                                                                                 : "failed"));
    phase_[i] = Phase::Done;
    traceEnd(*d_, session_, r);
  }

  void launch(std::size_t i) {
    const PipelineStep& step = d_->steps[i];
    startedAt_[i] = clock_.now();
    deadlines_[i] = startedAt_[i] + step.timeout;
    report_.steps[i].startedAt = millisBetween(start_, startedAt_[i]);
    logger().debug("step={} pipeline={} session={} event=start timeout_ms={}", step.name, d_->name, session_,
                   step.timeout.count());
    d_->threads->enter();
    try {
      threads_[i] = std::thread(runStepThread, d_, state_, i, session_, std::ref(clock_), deadlines_[i]);
      phase_[i] = Phase::Running;
    } catch (const std::system_error& e) {
      d_->threads->leave();
      StepReport& r = report_.steps[i];
      r.outcome = Outcome::Failed;
      r.error = std::string("could not start a thread for the step: ") + e.what();
      phase_[i] = Phase::Done;
      traceEnd(*d_, session_, r);
    }
  }

  // Records finished and timed-out steps; returns true when any was.
  bool collect(std::unique_lock<std::mutex>& lock) {
    const SteadyTime now = clock_.now();
    std::vector<std::size_t> finished;
    bool changed = false;
    for (std::size_t i = 0; i < phase_.size(); ++i) {
      if (phase_[i] != Phase::Running) continue;
      if (state_->slots[i].finished) {
        finished.push_back(i);
      } else if (now >= deadlines_[i]) {
        abandon(i, now);
        changed = true;
      }
    }
    if (finished.empty()) return changed;
    lock.unlock();  // a finished thread only has to return; never join under the lock
    for (std::size_t i : finished) threads_[i].join();
    lock.lock();
    for (std::size_t i : finished) record(i);
    return true;
  }

  void record(std::size_t i) {
    const StepSlot& slot = state_->slots[i];
    StepReport& r = report_.steps[i];
    r.attempts = slot.attempts;
    r.failures = slot.failures;
    r.duration = millisBetween(startedAt_[i], slot.finishedAt);
    if (!slot.error) {
      r.outcome = Outcome::Ok;
    } else if (slot.error->isGone() && !slot.threw) {
      r.outcome = Outcome::Ok;
      r.detail = "already done: " + slot.error->message;
    } else {
      r.outcome = Outcome::Failed;
      r.error = slot.threw ? slot.error->message : slot.error->describe();
    }
    phase_[i] = Phase::Done;
    traceEnd(*d_, session_, r);
  }

  void abandon(std::size_t i, SteadyTime now) {
    StepSlot& slot = state_->slots[i];
    slot.abandoned = true;
    threads_[i].detach();
    StepReport& r = report_.steps[i];
    r.outcome = Outcome::TimedOut;
    r.attempts = slot.attempts;
    r.failures = slot.failures;
    r.duration = millisBetween(startedAt_[i], now);
    r.error = "timed out after " + std::to_string(d_->steps[i].timeout.count()) + " ms (attempt " +
              std::to_string(slot.attempts) + " still running; abandoned)";
    phase_[i] = Phase::Done;
    traceEnd(*d_, session_, r);
  }

  bool anyFinished() const {
    for (std::size_t i = 0; i < phase_.size(); ++i) {
      if (phase_[i] == Phase::Running && state_->slots[i].finished) return true;
    }
    return false;
  }

  // Waits until a running step finishes or the earliest deadline may have
  // passed (checking a fake clock every kClockCheckInterval).
  void waitForChange(std::unique_lock<std::mutex>& lock) {
    SteadyTime earliest = SteadyTime::max();
    for (std::size_t i = 0; i < phase_.size(); ++i) {
      if (phase_[i] == Phase::Running) earliest = std::min(earliest, deadlines_[i]);
    }
    const milliseconds left = millisBetween(clock_.now(), earliest);
    if (left <= milliseconds(0)) return;
    const auto slice = std::min(left, kClockCheckInterval);
    state_->changed.wait_for(lock, slice, [&] { return anyFinished(); });
  }

  std::shared_ptr<const Definition> d_;
  std::string session_;
  Clock& clock_;
  SteadyTime start_;
  std::shared_ptr<RunState> state_;
  std::vector<Phase> phase_;
  std::vector<std::thread> threads_;
  std::vector<SteadyTime> deadlines_;
  std::vector<SteadyTime> startedAt_;
  PipelineReport report_;
};

nlohmann::json stepJson(const StepReport& r) {
  return {{"name", r.name},
          {"outcome", toString(r.outcome)},
          {"critical", r.critical},
          {"attempts", r.attempts},
          {"startedAtMs", r.startedAt.count()},
          {"durationMs", r.duration.count()},
          {"error", r.error},
          {"detail", r.detail},
          {"failures", r.failures}};
}

}  // namespace

// ---- public ---------------------------------------------------------------

milliseconds StepContext::remaining() const {
  return std::max(milliseconds(0), millisBetween(clock.now(), deadline));
}

bool StepContext::expired() const { return clock.now() >= deadline; }

const char* toString(StepReport::Outcome outcome) {
  switch (outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::Failed: return "failed";
    case Outcome::TimedOut: return "timed-out";
    case Outcome::Skipped: return "skipped";
  }
  return "unknown";
}

const StepReport* PipelineReport::step(const std::string& name) const {
  for (const auto& s : steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

nlohmann::json PipelineReport::toJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : steps) list.push_back(stepJson(s));
  return {{"pipeline", pipeline}, {"session", session}, {"ok", ok}, {"elapsedMs", elapsed.count()}, {"steps", list}};
}

std::string PipelineReport::summary() const {
  std::ostringstream out;
  out << "pipeline " << pipeline << " session=" << session << (ok ? " ok" : " FAILED") << " in " << elapsed.count()
      << " ms:";
  const char* separator = " ";
  for (const auto& s : steps) {
    out << separator << s.name << (s.critical ? "" : " [informational]") << ' ' << toString(s.outcome);
    if (s.outcome == Outcome::Ok || s.outcome == Outcome::Failed) out << ' ' << s.duration.count() << " ms";
    if (!s.error.empty()) out << " (" << s.error << ')';
    separator = ", ";
  }
  return out.str();
}

Pipeline::Pipeline(std::shared_ptr<const Definition> definition) : definition_(std::move(definition)) {}

Result<Pipeline> Pipeline::define(std::string name, std::vector<PipelineStep> steps) {
  auto d = std::make_shared<Definition>();
  d->name = std::move(name);
  std::set<std::string> names;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (Status s = checkStep(d->name, steps[i], names); !s.ok()) return s.error();
    index[steps[i].name] = i;
  }
  for (const auto& step : steps) {
    auto after = indicesOf(step.after, index, d->name, step.name, "after");
    if (!after.ok()) return after.error();
    auto needs = indicesOf(step.needs, index, d->name, step.name, "needs");
    if (!needs.ok()) return needs.error();
    std::vector<std::size_t> predecessors = after.value();
    for (std::size_t n : needs.value()) {
      if (std::find(predecessors.begin(), predecessors.end(), n) == predecessors.end()) predecessors.push_back(n);
    }
    d->predecessors.push_back(std::move(predecessors));
    d->needs.push_back(std::move(needs).value());
  }
  d->steps = std::move(steps);
  auto order = orderSteps(*d);
  if (!order.ok()) return order.error();
  d->bound = longestChain(*d, order.value());
  return Pipeline(std::move(d));
}

const std::string& Pipeline::name() const { return definition_->name; }
const std::vector<PipelineStep>& Pipeline::steps() const { return definition_->steps; }
milliseconds Pipeline::bound() const { return definition_->bound; }

PipelineReport Pipeline::run(const std::string& session, Clock& clock) const {
  return SessionRun(definition_, session, clock).run();
}

std::vector<PipelineReport> Pipeline::runAll(const std::vector<std::string>& sessions, Clock& clock,
                                             std::size_t concurrency) const {
  std::vector<PipelineReport> reports(sessions.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < sessions.size(); i = next++) reports[i] = run(sessions[i], clock);
  };
  const std::size_t workers = std::min(std::max<std::size_t>(concurrency, 1), sessions.size());
  std::vector<std::thread> helpers;
  for (std::size_t w = 1; w < workers; ++w) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error& e) {
      logger().warn("step=pipeline-run-all pipeline={} event=fewer-workers wanted={} started={} error=\"{}\"",
                    definition_->name, workers, helpers.size() + 1, e.what());
      break;
    }
  }
  work();  // the calling thread is a worker too
  for (auto& t : helpers) t.join();
  return reports;
}

std::size_t Pipeline::stepsStillRunning() const {
  std::lock_guard lock(definition_->threads->mutex);
  return definition_->threads->running;
}

bool Pipeline::waitForAbandonedSteps(milliseconds realTimeout) const {
  auto& threads = *definition_->threads;
  std::unique_lock lock(threads.mutex);
  return threads.idle.wait_for(lock, realTimeout, [&] { return threads.running == 0; });
}

}  // namespace cleanroom

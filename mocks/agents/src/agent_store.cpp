#include "cleanroom/mocks/agents/agent_store.h"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <system_error>

#include <spdlog/fmt/fmt.h>

#include "agent_process.h"
#include "cleanroom/mocks/deadline_scheduler.h"
#include "cleanroom/mocks/mock_logger.h"

namespace cleanroom::mocks {
namespace {

using std::chrono::milliseconds;

constexpr int kSigtermExitCode = 128 + SIGTERM;
constexpr int kSigkillExitCode = 128 + SIGKILL;

}  // namespace

class AgentStore::Impl {
 public:
  explicit Impl(AgentStoreOptions options)
      : options_(options), random_(std::random_device{}()) {}
  ~Impl() { shutdown(); }

  std::optional<Agent> create(AgentSpec spec);
  std::vector<Agent> list(const AgentFilter& filter) const;
  std::optional<Agent> find(const std::string& id) const;
  std::optional<Agent> waitUntilTerminal(const std::string& id, milliseconds timeout) const;
  bool waitUntilGone(const std::string& id, milliseconds timeout) const;
  StopResult stop(const std::string& id, StopMode mode);
  void reset();
  void shutdown();

 private:
  struct Record {
    Agent agent;
    std::uint64_t sequence = 0;
    DeadlineScheduler::TaskId timer = 0;  // the one pending lifecycle timer, 0 = none
    ChildWatch* process = nullptr;        // live child (owned by children_), realProcess only
  };
  using Lock = std::unique_lock<std::mutex>;

  Record* findLocked(const std::string& id);
  Agent newAgent(AgentSpec spec);
  std::string newId();
  void startLocked(Record& record);
  void spawnLocked(Record& record);
  void stopGracefullyLocked(Record& record);
  void stopForcefullyLocked(Record& record);
  void setStatusLocked(Record& record, AgentStatus status, const std::string& reason = {});
  void finishLocked(Record& record, AgentStatus terminal, const std::string& reason, std::optional<int> exitCode);
  void cancelTimerLocked(Record& record);
  // Starts a still-pending agent; returns it as started, or nullopt.
  std::optional<Agent> startIfPending(const std::string& id);
  // Scheduler and child-watch callbacks: each re-checks the status it expects.
  void onRunElapsed(const std::string& id);
  void onExitDelayElapsed(const std::string& id);
  void onLingerElapsed(const std::string& id);
  void onProcessExit(const std::string& id, pid_t pid, const ProcessExit& exit);
  void killAndReapChildren();

  const AgentStoreOptions options_;
  mutable std::mutex mutex_;  // guards everything below except the children
  mutable std::condition_variable changed_;  // notified on every change of agents_
  std::map<std::string, Record> agents_;
  std::uint64_t nextSequence_ = 0;
  bool shutDown_ = false;
  std::mt19937_64 random_;

  std::mutex childrenMutex_;  // lock order: mutex_ before childrenMutex_
  std::vector<std::unique_ptr<ChildWatch>> children_;

  DeadlineScheduler scheduler_;  // forks real agents too: a long-lived thread for PDEATHSIG
};

AgentStore::Impl::Record* AgentStore::Impl::findLocked(const std::string& id) {
  auto found = agents_.find(id);
  return found == agents_.end() ? nullptr : &found->second;
}

std::string AgentStore::Impl::newId() {
  while (true) {
    std::string id = fmt::format("ag-{:016x}", random_());
    if (!agents_.contains(id)) return id;
  }
}

Agent AgentStore::Impl::newAgent(AgentSpec spec) {
  Agent agent;
  agent.id = newId();
  if (spec.name.empty()) spec.name = spec.type + "-" + agent.id.substr(3, 6);
  const auto& behavior = spec.behavior;
  agent.exitDelayMs = std::uniform_int_distribution<std::int64_t>(behavior.exitDelayMinMs,
                                                                  behavior.exitDelayMaxMs)(random_);
  agent.spec = std::move(spec);
  agent.createdAt = agent.updatedAt = std::chrono::system_clock::now();
  return agent;
}

std::optional<Agent> AgentStore::Impl::create(AgentSpec spec) {
  const bool startNow = spec.behavior.startMs == 0;
  const bool realProcess = spec.behavior.realProcess;
  std::string id;
  Agent created;  // as it is when create() is done with it: timers may end it at once
  {
    Lock lock(mutex_);
    if (shutDown_) return std::nullopt;
    Record record{newAgent(std::move(spec)), nextSequence_++};
    id = record.agent.id;
    Record& stored = agents_.emplace(id, std::move(record)).first->second;
    mockLogger()->debug("agent {} created ({})", id, stored.agent.spec.name);
    if (!startNow) {
      stored.timer = scheduler_.after(milliseconds(stored.agent.spec.behavior.startMs),
                                      [this, id] { startIfPending(id); });
    } else if (!realProcess) {
      startLocked(stored);
    }
    created = stored.agent;
  }
  if (!startNow || !realProcess) return created;
  // Real agents are forked on the scheduler thread (see spawnAgentProcess).
  scheduler_.runAndWait([this, &id, &created] {
    if (auto started = startIfPending(id)) created = std::move(*started);
  });
  return created;
}

std::optional<Agent> AgentStore::Impl::startIfPending(const std::string& id) {
  Lock lock(mutex_);
  Record* record = findLocked(id);
  if (!record || record->agent.status != AgentStatus::pending) return std::nullopt;
  record->timer = 0;
  startLocked(*record);
  return record->agent;
}

void AgentStore::Impl::startLocked(Record& record) {
  const auto& behavior = record.agent.spec.behavior;
  if (behavior.realProcess) {
    spawnLocked(record);
    return;
  }
  setStatusLocked(record, AgentStatus::running);
  if (behavior.runMs) {
    const std::string id = record.agent.id;
    record.timer = scheduler_.after(milliseconds(*behavior.runMs), [this, id] { onRunElapsed(id); });
  }
}

void AgentStore::Impl::spawnLocked(Record& record) {
  const std::string id = record.agent.id;
  pid_t pid = 0;
  try {
    pid = spawnAgentProcess(agentProcessPlan(record.agent.spec.behavior, record.agent.exitDelayMs));
  } catch (const std::system_error& error) {
    finishLocked(record, AgentStatus::failed, std::string("could not start process: ") + error.what(), std::nullopt);
    return;
  }
  auto watch = std::make_unique<ChildWatch>(pid, [this, id, pid](const ProcessExit& exit) {
    onProcessExit(id, pid, exit);
  });
  record.process = watch.get();
  record.agent.pid = pid;
  {
    std::lock_guard children(childrenMutex_);
    std::erase_if(children_, [](const auto& child) { return child->finished(); });
    children_.push_back(std::move(watch));
  }
  setStatusLocked(record, AgentStatus::running);
  mockLogger()->debug("agent {} runs as pid {}", id, pid);
}

void AgentStore::Impl::onRunElapsed(const std::string& id) {
  Lock lock(mutex_);
  Record* record = findLocked(id);
  if (!record) return;
  const auto status = record->agent.status;
  const bool stillWorking = status == AgentStatus::running ||
                            (status == AgentStatus::terminating && record->agent.spec.behavior.ignoreSigterm);
  if (!stillWorking) return;
  record->timer = 0;
  const bool failed = record->agent.spec.behavior.outcome == AgentOutcome::failed;
  finishLocked(*record, failed ? AgentStatus::failed : AgentStatus::completed, "runMs elapsed", failed ? 1 : 0);
}

void AgentStore::Impl::onExitDelayElapsed(const std::string& id) {
  Lock lock(mutex_);
  Record* record = findLocked(id);
  if (!record || record->agent.status != AgentStatus::terminating) return;
  record->timer = 0;
  finishLocked(*record, AgentStatus::terminated, "sigterm", kSigtermExitCode);
}

void AgentStore::Impl::onLingerElapsed(const std::string& id) {
  Lock lock(mutex_);
  Record* record = findLocked(id);
  if (!record || !isTerminal(record->agent.status)) return;
  agents_.erase(id);
  mockLogger()->debug("agent {} gone after its linger time", id);
  changed_.notify_all();
}

void AgentStore::Impl::onProcessExit(const std::string& id, pid_t pid, const ProcessExit& exit) {
  Lock lock(mutex_);
  Record* record = findLocked(id);
  if (!record || record->agent.pid != pid) return;
  record->process = nullptr;
  const auto code = exit.shellCode();
  const bool failedOutcome = record->agent.spec.behavior.outcome == AgentOutcome::failed;
  if (exit.signal == SIGKILL) {
    finishLocked(*record, AgentStatus::terminated, "sigkill", code);
  } else if (exit.signal == SIGTERM || code == kSigtermExitCode) {
    finishLocked(*record, AgentStatus::terminated, "sigterm", code);
  } else if (exit.signal) {
    finishLocked(*record, AgentStatus::terminated, fmt::format("signal {}", *exit.signal), code);
  } else if (!code) {
    finishLocked(*record, AgentStatus::terminated, "reaped by another waiter; exit status unknown", code);
  } else if (*code == 0) {
    finishLocked(*record, AgentStatus::completed, "runMs elapsed", code);
  } else {
    finishLocked(*record, AgentStatus::failed,
                 *code == 1 && failedOutcome ? "runMs elapsed" : fmt::format("exit code {}", *code), code);
  }
}

void AgentStore::Impl::setStatusLocked(Record& record, AgentStatus status, const std::string& reason) {
  mockLogger()->debug("agent {}: {} -> {}{}", record.agent.id, toString(record.agent.status), toString(status),
                      reason.empty() ? "" : " (" + reason + ")");
  record.agent.status = status;
  record.agent.updatedAt = std::chrono::system_clock::now();
  if (!reason.empty()) record.agent.statusReason = reason;
  changed_.notify_all();
}

void AgentStore::Impl::finishLocked(Record& record, AgentStatus terminal, const std::string& reason,
                                    std::optional<int> exitCode) {
  cancelTimerLocked(record);
  record.agent.exitCode = exitCode;
  setStatusLocked(record, terminal, reason);
  const auto linger = record.agent.spec.behavior.lingerMs ? milliseconds(*record.agent.spec.behavior.lingerMs)
                                                          : options_.linger;
  const std::string id = record.agent.id;
  record.timer = scheduler_.after(linger, [this, id] { onLingerElapsed(id); });
}

void AgentStore::Impl::cancelTimerLocked(Record& record) {
  if (record.timer != 0) scheduler_.cancel(record.timer);
  record.timer = 0;
}

StopResult AgentStore::Impl::stop(const std::string& id, StopMode mode) {
  Lock lock(mutex_);
  if (shutDown_) return {StopResult::Kind::unavailable, std::nullopt};
  Record* record = findLocked(id);
  if (!record) return {StopResult::Kind::notFound, std::nullopt};
  if (isTerminal(record->agent.status)) {
    Agent purged = record->agent;
    cancelTimerLocked(*record);
    agents_.erase(id);
    changed_.notify_all();
    mockLogger()->debug("agent {} purged", id);
    return {StopResult::Kind::purged, std::move(purged)};
  }
  if (mode == StopMode::force) {
    stopForcefullyLocked(*record);
  } else {
    stopGracefullyLocked(*record);
  }
  return {StopResult::Kind::accepted, record->agent};
}

void AgentStore::Impl::stopGracefullyLocked(Record& record) {
  const auto status = record.agent.status;
  if (status == AgentStatus::terminating) return;  // already asked: a no-op
  if (status == AgentStatus::pending) cancelTimerLocked(record);
  setStatusLocked(record, AgentStatus::terminating);
  if (record.process) {
    record.process->signalLeader(SIGTERM);  // the script waits its exit delay, or ignores it
    return;
  }
  if (record.agent.spec.behavior.ignoreSigterm) return;  // stays terminating until forced
  cancelTimerLocked(record);
  const std::string id = record.agent.id;
  record.timer = scheduler_.after(milliseconds(record.agent.exitDelayMs), [this, id] { onExitDelayElapsed(id); });
}

void AgentStore::Impl::stopForcefullyLocked(Record& record) {
  if (!record.process) {
    finishLocked(record, AgentStatus::terminated, "sigkill", kSigkillExitCode);
    return;
  }
  // Terminated once the child is really reaped (onProcessExit).
  if (record.agent.status != AgentStatus::terminating) setStatusLocked(record, AgentStatus::terminating);
  record.process->killGroup();
}

std::vector<Agent> AgentStore::Impl::list(const AgentFilter& filter) const {
  std::vector<const Record*> selected;
  Lock lock(mutex_);
  for (const auto& [id, record] : agents_) {
    if (filter.matches(record.agent)) selected.push_back(&record);
  }
  std::sort(selected.begin(), selected.end(),
            [](const Record* a, const Record* b) { return a->sequence < b->sequence; });
  std::vector<Agent> agents;
  agents.reserve(selected.size());
  for (const Record* record : selected) agents.push_back(record->agent);
  return agents;
}

std::optional<Agent> AgentStore::Impl::find(const std::string& id) const {
  Lock lock(mutex_);
  auto found = agents_.find(id);
  if (found == agents_.end()) return std::nullopt;
  return found->second.agent;
}

std::optional<Agent> AgentStore::Impl::waitUntilTerminal(const std::string& id, milliseconds timeout) const {
  Lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] {
    auto found = agents_.find(id);
    return shutDown_ || found == agents_.end() || isTerminal(found->second.agent.status);
  });
  auto found = agents_.find(id);
  if (found == agents_.end()) return std::nullopt;
  return found->second.agent;
}

bool AgentStore::Impl::waitUntilGone(const std::string& id, milliseconds timeout) const {
  Lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return shutDown_ || !agents_.contains(id); }) &&
         !agents_.contains(id);
}

void AgentStore::Impl::reset() {
  {
    Lock lock(mutex_);
    for (auto& [id, record] : agents_) cancelTimerLocked(record);
    agents_.clear();
    changed_.notify_all();
  }
  killAndReapChildren();
}

void AgentStore::Impl::killAndReapChildren() {
  std::vector<std::unique_ptr<ChildWatch>> children;
  {
    std::lock_guard lock(childrenMutex_);
    children.swap(children_);
  }
  for (auto& child : children) child->killGroup();
  children.clear();  // each destructor joins its watch thread once the child is reaped
}

void AgentStore::Impl::shutdown() {
  {
    Lock lock(mutex_);
    if (shutDown_) return;
    shutDown_ = true;
    changed_.notify_all();
  }
  scheduler_.stop();  // no more timers or forks after this
  reset();
}

AgentStore::AgentStore(AgentStoreOptions options) : impl_(std::make_unique<Impl>(options)) {}
AgentStore::~AgentStore() = default;
std::optional<Agent> AgentStore::create(AgentSpec spec) { return impl_->create(std::move(spec)); }
std::vector<Agent> AgentStore::list(const AgentFilter& filter) const { return impl_->list(filter); }
std::optional<Agent> AgentStore::find(const std::string& id) const { return impl_->find(id); }

std::optional<Agent> AgentStore::waitUntilTerminal(const std::string& id, milliseconds timeout) const {
  return impl_->waitUntilTerminal(id, timeout);
}

bool AgentStore::waitUntilGone(const std::string& id, milliseconds timeout) const {
  return impl_->waitUntilGone(id, timeout);
}

StopResult AgentStore::stop(const std::string& id, StopMode mode) { return impl_->stop(id, mode); }
void AgentStore::reset() { impl_->reset(); }
void AgentStore::shutdown() { impl_->shutdown(); }

}  // namespace cleanroom::mocks

#include "cleanroom/mocks/daytona/sandbox_store.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>

#include "cleanroom/mocks/deadline_scheduler.h"

namespace cleanroom::mocks::daytona {
namespace {

using std::chrono::milliseconds;
using SystemClock = std::chrono::system_clock;

std::string newUuid() {
  static std::mutex mutex;
  static std::mt19937_64 random{std::random_device{}()};
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  {
    std::lock_guard lock(mutex);
    high = random();
    low = random();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    std::uint64_t word = i < 16 ? high : low;
    out += kHex[(word >> ((i % 16) * 4)) & 0xF];
    if (i == 7 || i == 11 || i == 15 || i == 19) out += '-';
  }
  out[14] = '4';  // version 4
  return out;
}

SandboxChange changed(const Sandbox& sandbox) { return {SandboxChange::Kind::ok, sandbox, ""}; }
SandboxChange notFound() { return {SandboxChange::Kind::notFound, std::nullopt, ""}; }
SandboxChange shutDown() { return {SandboxChange::Kind::shutDown, std::nullopt, "the Daytona mock is shutting down"}; }
SandboxChange invalid(const Sandbox& sandbox, const std::string& what) {
  return {SandboxChange::Kind::invalid, sandbox,
          what + " (sandbox " + sandbox.id + " is " + std::string(toString(sandbox.state)) + ")"};
}

}  // namespace

class SandboxStore::Impl {
 public:
  explicit Impl(SandboxStoreOptions options) : options_(options) {}

  SandboxChange create(SandboxSpec spec) {
    std::lock_guard lock(mutex_);
    if (closed_) return shutDown();
    if (!spec.name.empty() && findLocked(spec.name) != nullptr) {
      return {SandboxChange::Kind::conflict, std::nullopt, "Sandbox with name " + spec.name + " already exists"};
    }
    Entry entry;
    Sandbox& sandbox = entry.sandbox;
    sandbox.id = newUuid();
    if (spec.name.empty()) spec.name = sandbox.id;
    sandbox.createdAt = spec.behavior.createdAt.value_or(SystemClock::now());
    sandbox.updatedAt = SystemClock::now();
    sandbox.errorReason = spec.behavior.errorReason;
    sandbox.spec = std::move(spec);
    const std::string id = sandbox.id;
    order_.push_back(id);
    Entry& stored = sandboxes_[id] = std::move(entry);
    placeInitialState(stored);
    return changed(stored.sandbox);
  }

  std::vector<Sandbox> list(const SandboxFilter& filter) const {
    std::lock_guard lock(mutex_);
    std::vector<Sandbox> out;
    for (const auto& id : order_) {
      const Sandbox& sandbox = sandboxes_.at(id).sandbox;
      if (filter.matches(sandbox)) out.push_back(sandbox);
    }
    return out;
  }

  std::optional<Sandbox> find(const std::string& idOrName) const {
    std::lock_guard lock(mutex_);
    const Entry* entry = findLocked(idOrName);
    if (entry == nullptr) return std::nullopt;
    return entry->sandbox;
  }

  SandboxChange stop(const std::string& idOrName) {
    return change(idOrName, [this](Entry& entry) {
      Sandbox& sandbox = entry.sandbox;
      if (sandbox.state == SandboxState::stopping) return changed(sandbox);
      if (sandbox.state != SandboxState::started) return invalid(sandbox, "Sandbox is not started");
      move(entry, SandboxState::stopping, "stopped");
      if (!sandbox.spec.behavior.stuck) {
        later(entry, delayOf(sandbox.spec.behavior.stopDelayMs, options_.stopDelay), SandboxState::stopped);
      }
      return changed(sandbox);
    });
  }

  SandboxChange start(const std::string& idOrName) {
    return change(idOrName, [this](Entry& entry) {
      Sandbox& sandbox = entry.sandbox;
      if (sandbox.state == SandboxState::started || sandbox.state == SandboxState::starting) return changed(sandbox);
      if (sandbox.state != SandboxState::stopped && sandbox.state != SandboxState::archived) {
        return invalid(sandbox, "Sandbox is not stopped or archived");
      }
      move(entry, SandboxState::starting, "started");
      later(entry, delayOf(sandbox.spec.behavior.startDelayMs, options_.startDelay), SandboxState::started);
      return changed(sandbox);
    });
  }

  SandboxChange archive(const std::string& idOrName) {
    return change(idOrName, [this](Entry& entry) {
      Sandbox& sandbox = entry.sandbox;
      if (sandbox.state == SandboxState::archiving || sandbox.state == SandboxState::archived) return changed(sandbox);
      if (sandbox.state != SandboxState::stopped) return invalid(sandbox, "Sandbox is not stopped");
      move(entry, SandboxState::archiving, "archived");
      later(entry, delayOf(sandbox.spec.behavior.archiveDelayMs, options_.archiveDelay), SandboxState::archived);
      return changed(sandbox);
    });
  }

  SandboxChange remove(const std::string& idOrName, bool force) {
    return change(idOrName, [this, force](Entry& entry) {
      Sandbox& sandbox = entry.sandbox;
      const bool again = sandbox.state == SandboxState::destroying;
      if (again && !(force && entry.pending == 0)) return changed(sandbox);
      if (!again) move(entry, SandboxState::destroying, "destroyed");
      if (force || !sandbox.spec.behavior.stuck) {
        later(entry, delayOf(sandbox.spec.behavior.deleteDelayMs, options_.deleteDelay), SandboxState::destroyed);
      }
      return changed(sandbox);
    });
  }

  SandboxChange setLabels(const std::string& idOrName, std::map<std::string, std::string> labels) {
    return change(idOrName, [&labels](Entry& entry) {
      entry.sandbox.spec.labels = std::move(labels);
      entry.sandbox.updatedAt = SystemClock::now();
      return changed(entry.sandbox);
    });
  }

  void reset() {
    std::lock_guard lock(mutex_);
    for (auto& [id, entry] : sandboxes_) {
      if (entry.pending != 0) scheduler_.cancel(entry.pending);
    }
    sandboxes_.clear();
    order_.clear();
  }

  void shutdown() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    scheduler_.stop();  // waits for a running task; tasks take mutex_, so not under it
    reset();
  }

 private:
  struct Entry {
    Sandbox sandbox;
    DeadlineScheduler::TaskId pending = 0;  // the scheduled transition, 0 if none
    std::uint64_t generation = 0;           // bumped on every state change
  };

  static milliseconds delayOf(const std::optional<std::int64_t>& own, milliseconds fallback) {
    return own ? milliseconds(*own) : fallback;
  }

  template <class Apply>
  SandboxChange change(const std::string& idOrName, Apply apply) {
    std::lock_guard lock(mutex_);
    if (closed_) return shutDown();
    Entry* entry = findLocked(idOrName);
    if (entry == nullptr || entry->sandbox.state == SandboxState::destroyed) return notFound();
    return apply(*entry);
  }

  void placeInitialState(Entry& entry) {
    Sandbox& sandbox = entry.sandbox;
    const SandboxState wanted = sandbox.spec.behavior.state.value_or(SandboxState::started);
    sandbox.state = wanted;
    sandbox.desiredState = wanted == SandboxState::archived ? "archived"
                           : wanted == SandboxState::stopped ? "stopped"
                                                             : "started";
    if (isErrored(wanted) && sandbox.errorReason.empty()) sandbox.errorReason = "injected by the mock";
    const milliseconds startDelay = delayOf(sandbox.spec.behavior.startDelayMs, options_.startDelay);
    if (wanted != SandboxState::started || startDelay <= milliseconds(0)) return;
    sandbox.state = SandboxState::creating;
    later(entry, startDelay, SandboxState::started);
  }

  // Sets a new state now (cancelling any pending transition).
  void move(Entry& entry, SandboxState state, std::string desired) {
    if (entry.pending != 0) scheduler_.cancel(entry.pending);
    entry.pending = 0;
    ++entry.generation;
    entry.sandbox.state = state;
    entry.sandbox.desiredState = std::move(desired);
    entry.sandbox.updatedAt = SystemClock::now();
  }

  // Schedules `state` after `delay`, unless the sandbox changes first.
  void later(Entry& entry, milliseconds delay, SandboxState state) {
    const std::string id = entry.sandbox.id;
    const std::uint64_t generation = entry.generation;
    if (entry.pending != 0) scheduler_.cancel(entry.pending);
    entry.pending = scheduler_.after(delay, [this, id, generation, state] { arrive(id, generation, state); });
  }

  void arrive(const std::string& id, std::uint64_t generation, SandboxState state) {
    std::lock_guard lock(mutex_);
    auto found = sandboxes_.find(id);
    if (found == sandboxes_.end() || found->second.generation != generation) return;
    Entry& entry = found->second;
    entry.pending = 0;
    if (state == SandboxState::destroyed && entry.sandbox.state == SandboxState::destroyed) {
      purge(id);
      return;
    }
    move(entry, state, entry.sandbox.desiredState);
    if (state == SandboxState::destroyed) later(entry, options_.linger, SandboxState::destroyed);
  }

  void purge(const std::string& id) {
    sandboxes_.erase(id);
    order_.erase(std::remove(order_.begin(), order_.end(), id), order_.end());
  }

  Entry* findLocked(const std::string& idOrName) {
    auto byId = sandboxes_.find(idOrName);
    if (byId != sandboxes_.end()) return &byId->second;
    for (auto& [id, entry] : sandboxes_) {
      if (entry.sandbox.spec.name == idOrName && entry.sandbox.state != SandboxState::destroyed) return &entry;
    }
    return nullptr;
  }
  const Entry* findLocked(const std::string& idOrName) const {
    return const_cast<Impl*>(this)->findLocked(idOrName);
  }

  SandboxStoreOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> sandboxes_;
  std::vector<std::string> order_;  // ids, oldest first
  bool closed_ = false;
  DeadlineScheduler scheduler_;  // last: its thread stops before the state it touches goes
};

SandboxStore::SandboxStore(SandboxStoreOptions options) : impl_(std::make_unique<Impl>(options)) {}
SandboxStore::~SandboxStore() { shutdown(); }
SandboxChange SandboxStore::create(SandboxSpec spec) { return impl_->create(std::move(spec)); }
std::vector<Sandbox> SandboxStore::list(const SandboxFilter& filter) const { return impl_->list(filter); }
std::optional<Sandbox> SandboxStore::find(const std::string& idOrName) const { return impl_->find(idOrName); }
SandboxChange SandboxStore::stop(const std::string& idOrName) { return impl_->stop(idOrName); }
SandboxChange SandboxStore::start(const std::string& idOrName) { return impl_->start(idOrName); }
SandboxChange SandboxStore::archive(const std::string& idOrName) { return impl_->archive(idOrName); }
SandboxChange SandboxStore::remove(const std::string& idOrName, bool force) { return impl_->remove(idOrName, force); }
SandboxChange SandboxStore::setLabels(const std::string& idOrName, std::map<std::string, std::string> labels) {
  return impl_->setLabels(idOrName, std::move(labels));
}
void SandboxStore::reset() { impl_->reset(); }
void SandboxStore::shutdown() { impl_->shutdown(); }

}  // namespace cleanroom::mocks::daytona

#include "cleanroom/mocks/docker/container_store.h"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <regex>

#include "cleanroom/mocks/deadline_scheduler.h"
#include "cleanroom/mocks/mock_logger.h"
#include "container_process.h"

namespace cleanroom::mocks::docker {
namespace {

using Kind = Outcome::Kind;
constexpr std::chrono::seconds kDefaultStopTimeout{10};

Outcome noSuchContainer(const std::string& ref) {
  return Outcome::failure(Kind::notFound, "No such container: " + ref);
}

Outcome shuttingDown() { return Outcome::failure(Kind::unavailable, "the docker mock is shutting down"); }

std::string randomHex(std::size_t digits) {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  while (text.size() < digits) text.push_back(kHex[generator() % 16]);
  return text;
}

bool validName(const std::string& name) {
  static const std::regex pattern("[a-zA-Z0-9][a-zA-Z0-9_.-]+");
  return std::regex_match(name, pattern);
}

// Appends what a process wrote to `logs`, one entry per line (a chunk that
// ends mid-line is continued by the next chunk of the same stream).
void appendOutput(std::vector<LogLine>& logs, int stream, const std::string& bytes) {
  const auto now = WallClock::now();
  std::size_t start = 0;
  while (start < bytes.size()) {
    const auto newline = bytes.find('\n', start);
    const std::size_t end = newline == std::string::npos ? bytes.size() : newline + 1;
    const bool continuesLine = !logs.empty() && logs.back().stream == stream && !logs.back().text.empty() &&
                               logs.back().text.back() != '\n';
    if (continuesLine) {
      logs.back().text += bytes.substr(start, end - start);
    } else {
      logs.push_back(LogLine{stream, bytes.substr(start, end - start), now});
    }
    start = end;
  }
}

}  // namespace

class ContainerStore::Impl {
 public:
  struct Record {
    Container container;
    std::uint64_t sequence = 0;  // creation order
    std::shared_ptr<ContainerProcess> process;  // while running (until its exit is handled)
    std::uint64_t exits = 0;
    bool starting = false;
    bool removed = false;
  };
  using RecordPtr = std::shared_ptr<Record>;
  using Processes = std::vector<std::shared_ptr<ContainerProcess>>;

  Outcome create(ContainerSpec spec, Container* created);
  Outcome start(const std::string& ref);
  Outcome stop(const std::string& ref, std::optional<int> signal, std::optional<std::chrono::seconds> timeout);
  Outcome kill(const std::string& ref, int signal);
  std::optional<WaitTicket> beginWait(const std::string& ref) const;
  Outcome wait(const WaitTicket& ticket, WaitCondition condition, int* exitCode);
  Outcome remove(const std::string& ref, bool force);
  std::vector<std::string> prune(const ContainerFilter& filter);
  std::optional<Container> find(const std::string& ref) const;
  std::vector<Container> list(const ListQuery& query) const;
  std::vector<Container> all() const;
  std::set<std::string> images() const;
  void reset();
  void shutdown();

 private:
  RecordPtr resolveLocked(const std::string& ref) const;
  std::string newIdLocked() const;
  // Waits (lock held) until the record's process has exited once more than
  // `exitsBefore`, or the store shuts down. Returns true if it exited.
  bool waitForExitLocked(std::unique_lock<std::mutex>& lock, const RecordPtr& record, std::uint64_t exitsBefore,
                         std::optional<std::chrono::seconds> timeout);
  // Marks the record removed and drops it; returns its process, to be
  // destroyed after the lock is released.
  std::shared_ptr<ContainerProcess> dropLocked(const RecordPtr& record);
  void installLocked(const RecordPtr& record, std::shared_ptr<ContainerProcess> process);
  void onOutput(const std::weak_ptr<Record>& weak, int stream, const std::string& bytes);
  // Runs on the scheduler thread (never on the process's own watch thread,
  // whose destructor joins it): applies the exit to the record.
  void handleExit(const std::weak_ptr<Record>& weak, const ContainerProcess* process, const ProcessExit& exit);
  static void killAndReap(Processes processes);

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, RecordPtr> records_;  // by id
  std::set<std::string> images_;
  std::uint64_t nextSequence_ = 1;
  bool shuttingDown_ = false;
  DeadlineScheduler scheduler_;  // forks (a long-lived thread, for PDEATHSIG) and handles exits
};

ContainerStore::Impl::RecordPtr ContainerStore::Impl::resolveLocked(const std::string& ref) const {
  if (ref.empty()) return nullptr;
  if (auto found = records_.find(ref); found != records_.end()) return found->second;
  const std::string name = ref.front() == '/' ? ref.substr(1) : ref;
  for (const auto& [id, record] : records_) {
    if (record->container.spec.name == name) return record;
  }
  RecordPtr match;
  for (const auto& [id, record] : records_) {
    if (id.compare(0, ref.size(), ref) != 0) continue;
    if (match) return nullptr;  // ambiguous prefix
    match = record;
  }
  return match;
}

std::string ContainerStore::Impl::newIdLocked() const {
  while (true) {
    std::string id = randomHex(64);
    if (records_.count(id) == 0) return id;
  }
}

Outcome ContainerStore::Impl::create(ContainerSpec spec, Container* created) {
  std::lock_guard lock(mutex_);
  if (shuttingDown_) return shuttingDown();
  const std::string id = newIdLocked();
  if (spec.name.empty()) spec.name = "cleanroom_" + id.substr(0, 12);
  if (!validName(spec.name)) {
    return Outcome::failure(Kind::badRequest, "Invalid container name (" + spec.name +
                                                  "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
  for (const auto& [otherId, record] : records_) {
    if (record->container.spec.name != spec.name) continue;
    return Outcome::failure(Kind::conflict, "Conflict. The container name \"/" + spec.name +
                                                "\" is already in use by container \"" + otherId +
                                                "\". You have to remove (or rename) that container to be able "
                                                "to reuse that name.");
  }
  auto record = std::make_shared<Record>();
  record->container.id = id;
  record->container.created = WallClock::now() - std::chrono::milliseconds(spec.behavior.ageMs);
  record->container.spec = std::move(spec);
  record->sequence = nextSequence_++;
  images_.insert(record->container.spec.image);
  records_[id] = record;
  if (created) *created = record->container;
  return Outcome::success();
}

Outcome ContainerStore::Impl::start(const std::string& ref) {
  std::unique_lock lock(mutex_);
  if (shuttingDown_) return shuttingDown();
  RecordPtr record = resolveLocked(ref);
  if (!record) return noSuchContainer(ref);
  if (record->starting || record->container.status == ContainerStatus::running) {
    return Outcome::failure(Kind::notModified, "container already started");
  }
  record->starting = true;
  const ContainerBehavior behavior = record->container.spec.behavior;
  lock.unlock();

  std::shared_ptr<ContainerProcess> process;
  std::string error = "the docker mock is shutting down";
  scheduler_.runAndWait([&] {
    try {
      process = std::make_shared<ContainerProcess>(behavior);
    } catch (const std::exception& failure) {
      error = failure.what();
    }
  });

  lock.lock();
  record->starting = false;
  changed_.notify_all();
  if (!process) return Outcome::failure(Kind::unavailable, "cannot start container " + ref + ": " + error);
  if (record->removed || shuttingDown_) {
    lock.unlock();
    process.reset();  // kills and reaps it
    return shuttingDown_ ? shuttingDown() : noSuchContainer(ref);
  }
  installLocked(record, std::move(process));
  return Outcome::success();
}

void ContainerStore::Impl::installLocked(const RecordPtr& record, std::shared_ptr<ContainerProcess> process) {
  Container& container = record->container;
  container.status = ContainerStatus::running;
  container.pid = process->pid();
  container.exitCode = 0;
  container.startedAt = WallClock::now();
  record->process = process;
  const std::weak_ptr<Record> weak = record;
  const ContainerProcess* raw = process.get();
  // The watch thread's callbacks take mutex_, so they run after we release it.
  process->watch([this, weak](int stream, const std::string& bytes) { onOutput(weak, stream, bytes); },
                 [this, weak, raw](const ProcessExit& exit) {
                   scheduler_.after(std::chrono::milliseconds(0),
                                    [this, weak, raw, exit] { handleExit(weak, raw, exit); });
                 });
  changed_.notify_all();
}

void ContainerStore::Impl::onOutput(const std::weak_ptr<Record>& weak, int stream, const std::string& bytes) {
  std::lock_guard lock(mutex_);
  if (auto record = weak.lock()) appendOutput(record->container.logs, stream, bytes);
}

void ContainerStore::Impl::handleExit(const std::weak_ptr<Record>& weak, const ContainerProcess* process,
                                      const ProcessExit& exit) {
  std::shared_ptr<ContainerProcess> finished;
  {
    std::lock_guard lock(mutex_);
    auto record = weak.lock();
    if (!record || record->process.get() != process) return;  // removed or reset meanwhile
    Container& container = record->container;
    container.status = ContainerStatus::exited;
    container.exitCode = exit.dockerExitCode();
    container.finishedAt = WallClock::now();
    container.pid = 0;
    ++record->exits;
    finished = std::move(record->process);
    if (container.spec.autoRemove && !record->removed) dropLocked(record);  // `run --rm`
    changed_.notify_all();
  }
  finished.reset();  // joins the watch thread, which only scheduled this task
}

bool ContainerStore::Impl::waitForExitLocked(std::unique_lock<std::mutex>& lock, const RecordPtr& record,
                                             std::uint64_t exitsBefore,
                                             std::optional<std::chrono::seconds> timeout) {
  const auto exited = [&] { return record->exits != exitsBefore || shuttingDown_; };
  if (timeout) {
    changed_.wait_for(lock, *timeout, exited);
  } else {
    changed_.wait(lock, exited);
  }
  return record->exits != exitsBefore;
}

Outcome ContainerStore::Impl::stop(const std::string& ref, std::optional<int> signal,
                                   std::optional<std::chrono::seconds> timeout) {
  std::unique_lock lock(mutex_);
  RecordPtr record = resolveLocked(ref);
  if (!record) return noSuchContainer(ref);
  if (record->container.status != ContainerStatus::running || !record->process) {
    return Outcome::failure(Kind::notModified, "container already stopped");
  }
  const ContainerSpec& spec = record->container.spec;
  const int stopSignal = signal.value_or(spec.stopSignal.value_or(SIGTERM));
  if (!timeout) timeout = spec.stopTimeoutSeconds ? std::chrono::seconds(*spec.stopTimeoutSeconds) : kDefaultStopTimeout;
  const std::uint64_t exitsBefore = record->exits;
  std::shared_ptr<ContainerProcess> process = record->process;
  process->signal(stopSignal);
  const auto grace = timeout->count() < 0 ? std::nullopt : timeout;
  if (!waitForExitLocked(lock, record, exitsBefore, grace) && !shuttingDown_) {
    mockLogger()->debug("container {}: still running after {} s, sending SIGKILL", record->container.id,
                        grace->count());
    process->killGroup();
    waitForExitLocked(lock, record, exitsBefore, std::nullopt);
  }
  const bool exited = record->exits != exitsBefore;
  lock.unlock();
  process.reset();
  return exited ? Outcome::success() : shuttingDown();
}

Outcome ContainerStore::Impl::kill(const std::string& ref, int signal) {
  std::unique_lock lock(mutex_);
  RecordPtr record = resolveLocked(ref);
  if (!record) return noSuchContainer(ref);
  if (record->container.status != ContainerStatus::running || !record->process) {
    return Outcome::failure(Kind::conflict, "cannot kill container: " + ref + ": container " +
                                                record->container.id + " is not running");
  }
  std::shared_ptr<ContainerProcess> process = record->process;
  if (signal != SIGKILL) {
    process->signal(signal);
    lock.unlock();
    return Outcome::success();
  }
  const std::uint64_t exitsBefore = record->exits;
  process->killGroup();
  const bool exited = waitForExitLocked(lock, record, exitsBefore, std::nullopt);
  lock.unlock();
  process.reset();
  return exited ? Outcome::success() : shuttingDown();
}

std::optional<ContainerStore::WaitTicket> ContainerStore::Impl::beginWait(const std::string& ref) const {
  std::lock_guard lock(mutex_);
  RecordPtr record = resolveLocked(ref);
  if (!record) return std::nullopt;
  return WaitTicket{record, record->exits};
}

Outcome ContainerStore::Impl::wait(const WaitTicket& ticket, WaitCondition condition, int* exitCode) {
  const auto record = std::static_pointer_cast<Record>(ticket.record);
  std::unique_lock lock(mutex_);
  const auto holds = [&] {
    switch (condition) {
      case WaitCondition::notRunning:
        return record->removed || (!record->starting && record->container.status != ContainerStatus::running);
      case WaitCondition::nextExit: return record->removed || record->exits != ticket.exitsSeen;
      case WaitCondition::removed: return record->removed;
    }
    return true;
  };
  changed_.wait(lock, [&] { return holds() || shuttingDown_; });
  if (!holds()) return shuttingDown();
  if (exitCode) *exitCode = record->container.exitCode;
  return Outcome::success();
}

std::shared_ptr<ContainerProcess> ContainerStore::Impl::dropLocked(const RecordPtr& record) {
  record->removed = true;
  records_.erase(record->container.id);
  changed_.notify_all();
  return std::move(record->process);
}

Outcome ContainerStore::Impl::remove(const std::string& ref, bool force) {
  std::unique_lock lock(mutex_);
  RecordPtr record = resolveLocked(ref);
  if (!record) return noSuchContainer(ref);
  const bool running = record->starting || record->container.status == ContainerStatus::running;
  if (running && !force) {
    return Outcome::failure(Kind::conflict, "cannot remove container \"" + record->container.slashName() +
                                                "\": container is running: stop the container before "
                                                "removing or force remove");
  }
  if (running && record->process) {
    const std::uint64_t exitsBefore = record->exits;
    record->process->killGroup();
    if (!waitForExitLocked(lock, record, exitsBefore, std::nullopt)) return shuttingDown();
  }
  if (record->removed) return noSuchContainer(ref);  // removed by another request meanwhile
  std::shared_ptr<ContainerProcess> process = dropLocked(record);
  lock.unlock();
  process.reset();
  return Outcome::success();
}

std::vector<std::string> ContainerStore::Impl::prune(const ContainerFilter& filter) {
  std::vector<std::string> removed;
  Processes processes;
  {
    std::lock_guard lock(mutex_);
    std::vector<RecordPtr> doomed;
    for (const auto& [id, record] : records_) {
      const bool running = record->starting || record->container.status == ContainerStatus::running;
      if (!running && filter.matches(record->container)) doomed.push_back(record);
    }
    for (const auto& record : doomed) {
      removed.push_back(record->container.id);
      if (auto process = dropLocked(record)) processes.push_back(std::move(process));
    }
  }
  return removed;
}

std::optional<Container> ContainerStore::Impl::find(const std::string& ref) const {
  std::lock_guard lock(mutex_);
  RecordPtr record = resolveLocked(ref);
  if (!record) return std::nullopt;
  return record->container;
}

std::vector<Container> ContainerStore::Impl::list(const ListQuery& query) const {
  std::vector<std::pair<std::uint64_t, Container>> selected;
  {
    std::lock_guard lock(mutex_);
    const bool all = query.all || query.limit > 0 || query.filter.has("status");
    for (const auto& [id, record] : records_) {
      const Container& container = record->container;
      if (!all && container.status != ContainerStatus::running) continue;
      if (!query.filter.matches(container)) continue;
      selected.emplace_back(record->sequence, container);
    }
  }
  std::sort(selected.begin(), selected.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  if (query.limit > 0 && selected.size() > static_cast<std::size_t>(query.limit)) selected.resize(query.limit);
  std::vector<Container> containers;
  for (auto& [sequence, container] : selected) containers.push_back(std::move(container));
  return containers;
}

std::vector<Container> ContainerStore::Impl::all() const {
  auto containers = list(ListQuery{true, -1, {}});
  std::reverse(containers.begin(), containers.end());
  return containers;
}

std::set<std::string> ContainerStore::Impl::images() const {
  std::lock_guard lock(mutex_);
  return images_;
}

void ContainerStore::Impl::killAndReap(Processes processes) {
  for (auto& process : processes) process->killGroup();
  processes.clear();  // each destructor joins its watch thread, which reaps
}

void ContainerStore::Impl::reset() {
  Processes processes;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, record] : records_) {
      record->removed = true;
      if (record->process) processes.push_back(std::move(record->process));
    }
    records_.clear();
    images_.clear();
    changed_.notify_all();
  }
  killAndReap(std::move(processes));
}

void ContainerStore::Impl::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (shuttingDown_) return;
    shuttingDown_ = true;
    changed_.notify_all();
  }
  reset();
  scheduler_.stop();  // disposes of exited processes still queued, forks no more
}

ContainerStore::ContainerStore() : impl_(std::make_unique<Impl>()) {}
ContainerStore::~ContainerStore() { shutdown(); }
Outcome ContainerStore::create(ContainerSpec spec, Container* created) {
  return impl_->create(std::move(spec), created);
}
Outcome ContainerStore::start(const std::string& ref) { return impl_->start(ref); }
Outcome ContainerStore::stop(const std::string& ref, std::optional<int> signal,
                             std::optional<std::chrono::seconds> timeout) {
  return impl_->stop(ref, signal, timeout);
}
Outcome ContainerStore::kill(const std::string& ref, int signal) { return impl_->kill(ref, signal); }
std::optional<ContainerStore::WaitTicket> ContainerStore::beginWait(const std::string& ref) const {
  return impl_->beginWait(ref);
}
Outcome ContainerStore::wait(const WaitTicket& ticket, WaitCondition condition, int* exitCode) {
  return impl_->wait(ticket, condition, exitCode);
}
Outcome ContainerStore::wait(const std::string& ref, WaitCondition condition, int* exitCode) {
  const auto ticket = impl_->beginWait(ref);
  if (!ticket) return noSuchContainer(ref);
  return impl_->wait(*ticket, condition, exitCode);
}
Outcome ContainerStore::remove(const std::string& ref, bool force) { return impl_->remove(ref, force); }
std::vector<std::string> ContainerStore::prune(const ContainerFilter& filter) { return impl_->prune(filter); }
std::optional<Container> ContainerStore::find(const std::string& ref) const { return impl_->find(ref); }
std::vector<Container> ContainerStore::list(const ListQuery& query) const { return impl_->list(query); }
std::vector<Container> ContainerStore::all() const { return impl_->all(); }
std::set<std::string> ContainerStore::images() const { return impl_->images(); }
void ContainerStore::reset() { impl_->reset(); }
void ContainerStore::shutdown() { impl_->shutdown(); }

std::optional<int> parseSignal(std::string_view name) {
  static const std::map<std::string, int> kSignals{
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"ALRM", SIGALRM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
      {"PIPE", SIGPIPE}, {"ABRT", SIGABRT}};
  if (name.empty()) return std::nullopt;
  if (std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (name.size() > 2) return std::nullopt;
    const int number = std::stoi(std::string(name));
    return number >= 1 && number <= 64 ? std::optional<int>(number) : std::nullopt;
  }
  std::string upper;
  for (char c : name) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  const auto found = kSignals.find(upper);
  if (found == kSignals.end()) return std::nullopt;
  return found->second;
}

}  // namespace cleanroom::mocks::docker

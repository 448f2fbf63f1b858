#include "cleanroom/fail_safe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <tuple>
#include <thread>

#include <spdlog/spdlog.h>

#include "cleanroom/backend_catalog.h"
#include "cleanroom/journal.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

// Written by the signal handlers (async-signal-safe: one write of one byte).
std::atomic<int> signalPipeWrite{-1};

void onSignal(int signal) {
  const int fd = signalPipeWrite.load();
  if (fd < 0) return;
  const unsigned char byte = static_cast<unsigned char>(signal);
  const int saved = errno;
  (void)!::write(fd, &byte, 1);
  errno = saved;
}

struct FailSafeState {
  std::mutex mutex;
  std::condition_variable finished;
  FailSafeOptions options;
  bool installed = false;
  bool started = false;  // the sweep has begun (or ran)
  bool done = false;
  int pipeRead = -1;
  std::vector<int> handled;
};

// Never destroyed: atexit handlers and the watcher thread use it until the
// very end of the process.
FailSafeState& state() {
  static auto* s = new FailSafeState();
  return *s;
}

// Cleanups that run before the sweep. Their own lock: held while they run,
// so removeFailSafeCleanup() waits for a running one.
struct RegisteredCleanups {
  std::mutex mutex;
  int nextId = 1;
  std::vector<std::tuple<int, std::string, FailSafeCleanup>> cleanups;
};

RegisteredCleanups& registeredCleanups() {
  static auto* r = new RegisteredCleanups();
  return *r;
}

void runRegisteredCleanups(const std::string& trigger) {
  RegisteredCleanups& r = registeredCleanups();
  std::lock_guard lock(r.mutex);
  for (const auto& [id, name, cleanup] : r.cleanups) {
    logger().info("step=fail-safe-cleanup name={} trigger={} event=start", name, trigger);
    try {
      cleanup(trigger);
    } catch (const std::exception& e) {
      logger().warn("step=fail-safe-cleanup name={} result=exception error=\"{}\"", name, e.what());
    } catch (...) {
      logger().warn("step=fail-safe-cleanup name={} result=exception", name);
    }
  }
}

std::string signalName(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

void restoreDefault(int signal) {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  ::sigaction(signal, &action, nullptr);
}

// Reads signal numbers from the pipe; runs the sweep for the first one, then
// lets the signal do what it would have done.
void watchSignals(int fd) {
  for (;;) {
    unsigned char byte = 0;
    const ssize_t n = ::read(fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    const int signal = byte;
    restoreDefault(signal);  // a second signal ends the process at once
    (void)runFailSafe(signalName(signal));
    ::raise(signal);
  }
}

void atExit() { (void)runFailSafe("exit"); }

void installHandlers(FailSafeState& s) {
  if (s.pipeRead < 0) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      logger().warn("step=fail-safe result=error error=\"pipe: {}\" (signals will not trigger the sweep)",
                    std::strerror(errno));
      return;
    }
    s.pipeRead = fds[0];
    signalPipeWrite.store(fds[1]);
    std::thread(watchSignals, fds[0]).detach();
    std::atexit(atExit);
  }
  for (int signal : s.options.signals) {
    if (std::find(s.handled.begin(), s.handled.end(), signal) != s.handled.end()) continue;
    struct sigaction action {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (::sigaction(signal, &action, nullptr) == 0) s.handled.push_back(signal);
  }
}

std::shared_ptr<CleanupEngine> engineFromEnvironment() {
  auto backends = backendsFromEnvironment();
  if (!backends.ok()) throw ConfigError("cleanroom fail-safe: " + backends.error().message);
  if (backends->empty()) {
    throw ConfigError(
        "cleanroom fail-safe: no backend is configured: pass FailSafeOptions::engine, or set the variables of "
        "the backends your tests use (CLEANROOM_AGENTS_URL, CLEANROOM_TMUX_SOCKET, CLEANROOM_WORKSPACE…)");
  }
  auto engine = std::make_shared<CleanupEngine>();
  for (auto& backend : *backends) engine->addBackend(std::move(backend));
  return engine;
}

// The engine of the sweep: the configured one, plus the backends the run's
// journal names that it does not reach.
CleanupEngine sweepEngine(const FailSafeOptions& options, const std::string& runId, std::vector<std::string>& errors,
                          std::optional<JournalContents>& journal) {
  CleanupEngine engine(options.engine->options(), options.engine->clock());
  std::vector<std::shared_ptr<Backend>> backends = options.engine->backends();
  Result<JournalContents> read = Journal::read(Journal::pathFor(runId), runId);
  if (read.ok()) {
    journal = read.value();
    backends = withJournalBackends(std::move(backends), *journal, errors);
  } else if (!read.error().isGone()) {
    errors.push_back(read.error().message);
  }
  for (auto& backend : backends) engine.addBackend(backend);
  return engine;
}

}  // namespace

void installFailSafe(FailSafeOptions options) {
  if (!options.engine) options.engine = engineFromEnvironment();
  FailSafeState& s = state();
  std::lock_guard lock(s.mutex);
  s.options = std::move(options);
  s.installed = true;
  if (s.done) {
    // Installed again after a sweep (a new suite in the same process): arm again.
    s.started = false;
    s.done = false;
  }
  installHandlers(s);
  const std::string runId = s.options.selector.runId.value_or("");
  for (const auto& backend : s.options.engine->backends()) {
    if (!runId.empty()) (void)journal::recordBackend(*backend, runId);
  }
  logger().debug("step=fail-safe action=installed backends={} selector=\"{}\"", s.options.engine->backends().size(),
                 s.options.selector.describe());
}

bool failSafeArmed() {
  FailSafeState& s = state();
  std::lock_guard lock(s.mutex);
  return s.installed && !s.started;
}

std::optional<CleanupReport> runFailSafe(const std::string& trigger, bool endServices) {
  FailSafeState& s = state();
  FailSafeOptions options;
  {
    std::unique_lock lock(s.mutex);
    if (!s.installed) return std::nullopt;
    if (s.started) {
      // Another trigger is sweeping: let it finish before this one returns
      // (an exit must not tear the process down under it).
      s.finished.wait(lock, [&] { return s.done; });
      return std::nullopt;
    }
    s.started = true;
    options = s.options;
  }
  runRegisteredCleanups(trigger);
  const std::string runId = options.selector.runId.value_or("");
  std::vector<std::string> errors;
  std::optional<JournalContents> journal;
  CleanupEngine engine = runId.empty() ? CleanupEngine(options.engine->options(), options.engine->clock())
                                       : sweepEngine(options, runId, errors, journal);
  if (runId.empty()) {
    for (const auto& backend : options.engine->backends()) engine.addBackend(backend);
  }
  CleanupReport report = engine.cleanup(options.selector);
  report.errors.insert(report.errors.end(), errors.begin(), errors.end());
  report.finalize();
  logger().log(report.success ? spdlog::level::info : spdlog::level::warn,
               "step=fail-safe trigger={} found={} cleaned={} remaining={} ms={}", trigger, report.totals.found,
               report.totals.cleaned, report.totals.remaining, report.elapsed.count());
  if (!report.success) logger().warn("{}", report.summary());
  if (endServices && journal) (void)journal::endServices(*journal, options.engine->options().gracePeriod);
  if (report.success && !runId.empty()) {
    (void)journal::recordClosed(runId);  // a reaper watching us stands down
    (void)journal::removeIfDone(runId);
  }
  {
    std::lock_guard lock(s.mutex);
    s.done = true;
  }
  s.finished.notify_all();
  return report;
}

int addFailSafeCleanup(std::string name, FailSafeCleanup cleanup) {
  RegisteredCleanups& r = registeredCleanups();
  std::lock_guard lock(r.mutex);
  const int id = r.nextId++;
  r.cleanups.emplace_back(id, std::move(name), std::move(cleanup));
  return id;
}

void removeFailSafeCleanup(int id) {
  RegisteredCleanups& r = registeredCleanups();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.cleanups, [id](const auto& entry) { return std::get<0>(entry) == id; });
}

}  // namespace cleanroom

#include "cleanroom/reaper.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <ostream>

#include <spdlog/spdlog.h>

#include "cleanroom/backend_catalog.h"
#include "cleanroom/engine.h"
#include "cleanroom/env.h"
#include "cleanroom/journal.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

extern char** environ;

namespace cleanroom {
namespace {

namespace fs = std::filesystem;

constexpr int kClean = 0;
constexpr int kLeft = 1;
constexpr int kBadInput = 2;

// Holds the run's reaper lock: an abstract Unix socket name bound while the
// reaper lives ("\0cleanroom-reaper-<run id>"). The kernel releases it when
// the process ends, however it ends; no file is left behind.
class ReaperLock {
 public:
  ~ReaperLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Returns true when this process now holds the lock for `runId`.
  bool acquire(const std::string& runId) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return true;  // no lock possible: proceed; reaping is idempotent
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string name = "cleanroom-reaper-" + runId;
    std::memcpy(address.sun_path + 1, name.data(), std::min(name.size(), sizeof(address.sun_path) - 2));
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    return ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) == 0 || errno != EADDRINUSE;
  }

 private:
  int fd_ = -1;
};

// Returns why `pid` is proven to belong to the run, or nullopt.
std::optional<std::string> ownership(pid_t pid, const std::string& runId, const Result<JournalContents>& journal) {
  Result<ProcessInfo> process = readProcess(pid);
  if (!process) return std::nullopt;
  if (journal.ok() && journal->ownedBy(pid, process->id.startTime)) return "journal";
  // The marker proves ownership only for a process exec'd with it; a run id
  // generated in-process shows in the journal instead.
  if (process->runMarker && *process->runMarker == runId) return "environment";
  return std::nullopt;
}

// Blocks until `pid` has ended. Returns false when it cannot watch it.
bool waitForEnd(pid_t pid, std::ostream& err) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno == ESRCH) return true;
    err << "cleanroom-reaper: cannot watch pid " << pid << ": pidfd_open: " << std::strerror(errno) << "\n";
    return false;
  }
  pollfd watched{fd, POLLIN, 0};
  while (::poll(&watched, 1, -1) < 0 && errno == EINTR) {
  }
  ::close(fd);
  return true;
}

}  // namespace

int runReaper(const ReaperOptions& options, std::ostream& out, std::ostream& err) {
  if (Status valid = run::validateId(options.runId, "--run-id"); !valid) {
    err << "cleanroom-reaper: " << valid.error().message << "\n";
    return kBadInput;
  }
  if (options.watchPid <= 0) {
    err << "cleanroom-reaper: --watch-pid must be the pid of the test process (a positive number)\n";
    return kBadInput;
  }
  const fs::path journalPath =
      options.journalPath.empty() ? Journal::pathFor(options.runId) : fs::path(options.journalPath);
  Result<JournalContents> journal = Journal::read(journalPath, options.runId);
  if (!journal.ok() && !journal.error().isGone()) {
    err << "cleanroom-reaper: " << journal.error().message << "\n";
    return kBadInput;
  }
  Result<ProcessInfo> watched = readProcess(options.watchPid);
  const bool alive = watched.ok();
  if (alive && !ownership(options.watchPid, options.runId, journal)) {
    err << "cleanroom-reaper: pid " << options.watchPid << " does not belong to run " << options.runId
        << ": no run line of " << journalPath.string() << " names it and its environment has no CLEANROOM_RUN_ID="
        << options.runId << "; watch the test process that owns the run\n";
    return kBadInput;
  }
  ReaperLock lock;
  if (!lock.acquire(options.runId)) {
    out << "cleanroom-reaper: another reaper already watches run " << options.runId << "\n";
    return kClean;
  }
  // The test's terminal or pipe may be gone by the time there is news.
  std::signal(SIGPIPE, SIG_IGN);
  out << "watching pid " << options.watchPid << " for run " << options.runId << std::endl;
  if (alive && !waitForEnd(options.watchPid, err)) return kLeft;
  // A process whose fail-safe cleaned up before it ended says so in the
  // journal ("closed", or the journal removed after a clean sweep).
  Result<JournalContents> after = Journal::read(journalPath, options.runId);
  const bool removedSinceStart = journal.ok() && !after.ok() && after.error().isGone();
  if (alive && (removedSinceStart || (after.ok() && after->closedBy(options.watchPid, watched->id.startTime)))) {
    logger().info("step=reap run={} pid={} result=closed-cleanly", options.runId, options.watchPid);
    return kClean;
  }
  logger().info("step=reap run={} pid={} reason=process-ended", options.runId, options.watchPid);
  ReapOptions reap;
  reap.journalPath = journalPath.string();
  reap.backends = options.backends;
  reap.cleanup.gracePeriod = options.gracePeriod;
  Result<CleanupReport> report = reapRun(options.runId, reap);
  if (!report) {
    err << "cleanroom-reaper: " << report.error().message << "\n";
    return kBadInput;
  }
  out << report->summary() << std::endl;
  if (!out) err << report->summary() << std::endl;  // the launcher closed our stdout: stderr is the log
  return report->success ? kClean : kLeft;
}

Result<CleanupReport> reapRun(const std::string& runId, const ReapOptions& options) {
  if (Status valid = run::validateId(runId, "run id"); !valid) return valid.error();
  const fs::path journalPath = options.journalPath.empty() ? Journal::pathFor(runId) : fs::path(options.journalPath);
  Result<JournalContents> journal = Journal::read(journalPath, runId);
  if (!journal.ok() && !journal.error().isGone()) return journal.error();
  auto configured = backendsFromEnvironment(options.backends, runId);
  if (!configured.ok()) return configured.error();
  std::vector<std::string> errors;
  std::vector<std::shared_ptr<Backend>> backends = *configured;
  if (journal.ok()) {
    backends = withJournalBackends(std::move(backends), *journal, errors);
    for (const std::string& problem : journal->problems) {
      logger().warn("step=reap run={} journal=\"{}\" problem=\"{}\"", runId, journalPath.string(), problem);
    }
  }
  if (backends.empty()) {
    return Error::permanent("nothing to reap run " + runId + " with: no backend is configured and " +
                            (journal.ok() ? "its journal names none" : "it has no journal at " + journalPath.string()) +
                            "; set the backends' variables (e.g. CLEANROOM_AGENTS_URL) or pass --journal");
  }
  CleanupEngine engine(options.cleanup);
  for (auto& backend : backends) engine.addBackend(backend);
  CleanupReport report = engine.cleanup(Selector::forRun(runId));
  report.errors.insert(report.errors.end(), errors.begin(), errors.end());
  report.finalize();
  if (!report.dryRun && journal.ok()) {
    // The servers the run started for its tests (a mock), after their
    // resources are gone.
    (void)journal::endServices(*journal, options.cleanup.gracePeriod);
  }
  if (report.success && !report.dryRun) {
    // The sweep covered every backend the journal names: nothing is left.
    std::error_code ignored;
    fs::remove(journalPath, ignored);
    fs::remove(journalPath.parent_path(), ignored);  // only when empty
  }
  return report;
}

Result<std::string> reaperExecutable() {
  if (std::optional<std::string> fromEnv = env::get("CLEANROOM_REAPER")) {
    if (*fromEnv == "off") return Error::permanent("CLEANROOM_REAPER=off: no reaper is started");
    if (::access(fromEnv->c_str(), X_OK) != 0) {
      return Error::permanent("CLEANROOM_REAPER=" + *fromEnv + " is not an executable file: point it at cleanroom-reaper");
    }
    return *fromEnv;
  }
  for (const char* candidate : {CLEANROOM_REAPER_BUILD_PATH, CLEANROOM_REAPER_INSTALL_PATH}) {
    if (::access(candidate, X_OK) == 0) return std::string(candidate);
  }
  std::optional<std::string> path = env::get("PATH");
  std::string dirs = path.value_or("");
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t colon = dirs.find(':', start);
    const std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/cleanroom-reaper";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return Error::permanent("cleanroom-reaper was not found (not built here, not installed, not in PATH): set "
                          "CLEANROOM_REAPER to its path");
}

Result<pid_t> launchReaper(const std::string& runId, milliseconds timeout) {
  Result<std::string> executable = reaperExecutable();
  if (!executable) return executable.error();
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error::permanent(std::string("cannot start the reaper: pipe2: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  const std::string pid = std::to_string(::getpid());
  std::vector<std::string> args = {*executable, "--watch-pid", pid, "--run-id", runId};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Our environment configures the same backends for it; the run markers
  // stay out, so nothing mistakes the reaper for one of the run's processes.
  std::vector<std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const std::string key = text.substr(0, text.find('='));
    if (key == "CLEANROOM_RUN_ID" || key == "CLEANROOM_PROCESS_RUN_ID" || key == "CLEANROOM_TMUX_SESSION") continue;
    variables.push_back(text);
  }
  std::vector<char*> envp;
  for (auto& v : variables) envp.push_back(v.data());
  envp.push_back(nullptr);
  pid_t child = 0;
  const int rc = ::posix_spawn(&child, executable->c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return Error::permanent("cannot start " + *executable + ": " + std::strerror(rc));
  }
  // Read its first line: "watching pid N for run R", or EOF when it failed.
  std::string line;
  const SteadyTime deadline = Clock::system().now() + timeout;
  bool complete = false;
  while (!complete) {
    const auto left = millisBetween(Clock::system().now(), deadline);
    if (left.count() <= 0) break;
    pollfd readable{out[0], POLLIN, 0};
    const int polled = ::poll(&readable, 1, static_cast<int>(left.count()));
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) break;
    char c = 0;
    const ssize_t n = ::read(out[0], &c, 1);
    if (n <= 0) break;
    if (c == '\n') complete = true;
    else line += c;
  }
  ::close(out[0]);
  if (complete && line.rfind("watching pid ", 0) == 0) return child;
  int status = 0;
  if (complete && line.find("another reaper already watches") != std::string::npos) {
    ::waitpid(child, &status, 0);  // it exits at once; the other one watches
    return child;
  }
  const bool timedOut = Clock::system().now() >= deadline;
  if (timedOut) ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);  // it ended (EOF) or was just killed
  std::string how = timedOut ? "did not say it watches within " + std::to_string(timeout.count()) + " ms"
                             : describeWaitStatus(status);
  if (!line.empty()) how += " after printing '" + line + "'";
  return Error::permanent(*executable + " " + how + " (its stderr says why)");
}

}  // namespace cleanroom

// Process tree: /proc snapshots, pid + start time identities, race-free
// signalling through pidfds, and reaping by specific pid only.
#include "cleanroom/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "cleanroom/trace.h"

#include <spdlog/spdlog.h>

namespace cleanroom {
namespace {

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

// Field 22 of /proc/PID/stat is the 20th field after "(comm)" (0-based 19).
constexpr int kStartTimeIndex = 19;
constexpr int kPpidIndex = 1;
constexpr int kPgidIndex = 2;
constexpr int kSidIndex = 3;

std::string procPath(pid_t pid, const char* file) { return "/proc/" + std::to_string(pid) + "/" + file; }

// Reads a whole (small) /proc file; nullopt when it cannot be opened or read.
std::optional<std::string> readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

struct StatFields {
  std::string comm;
  char state = '?';
  pid_t ppid = 0, pgid = 0, sid = 0;
  unsigned long long startTime = 0;
};

std::optional<StatFields> parseStat(const std::string& text) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  StatFields fields;
  fields.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> tokens{std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
  if (tokens.size() <= kStartTimeIndex || tokens[0].empty()) return std::nullopt;
  try {
    fields.state = tokens[0][0];
    fields.ppid = static_cast<pid_t>(std::stol(tokens[kPpidIndex]));
    fields.pgid = static_cast<pid_t>(std::stol(tokens[kPgidIndex]));
    fields.sid = static_cast<pid_t>(std::stol(tokens[kSidIndex]));
    fields.startTime = std::stoull(tokens[kStartTimeIndex]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return fields;
}

std::optional<StatFields> readStat(pid_t pid) {
  std::optional<std::string> text = readFile(procPath(pid, "stat"));
  if (!text) return std::nullopt;
  return parseStat(*text);
}

std::string commandLine(pid_t pid, const std::string& comm) {
  std::optional<std::string> raw = readFile(procPath(pid, "cmdline"));
  std::string command = raw.value_or("");
  while (!command.empty() && command.back() == '\0') command.pop_back();
  for (char& c : command) {
    if (c == '\0') c = ' ';
  }
  return command.empty() ? "[" + comm + "]" : command;
}

// Returns the value of each wanted variable found in /proc/PID/environ.
// A process in the middle of exec shows an empty environment for a moment:
// read again a few times before believing it.
constexpr int kEnvironReads = 20;

std::optional<std::string> readEnvironment(pid_t pid, bool zombie) {
  std::optional<std::string> environ = readFile(procPath(pid, "environ"));
  for (int i = 1; i < kEnvironReads && environ && environ->empty() && !zombie; ++i) {
    ::sched_yield();
    environ = readFile(procPath(pid, "environ"));
  }
  return environ;
}

void readMarkers(pid_t pid, ProcessInfo& info) {
  std::optional<std::string> environ = readEnvironment(pid, info.isZombie());
  if (!environ) return;
  const std::string run = std::string(kRunMarkerVariable) + "=";
  const std::string launch = std::string(kLaunchMarkerVariable) + "=";
  size_t start = 0;
  while (start < environ->size()) {
    size_t end = environ->find('\0', start);
    if (end == std::string::npos) end = environ->size();
    std::string_view entry(environ->data() + start, end - start);
    if (entry.substr(0, run.size()) == run) info.runMarker = std::string(entry.substr(run.size()));
    if (entry.substr(0, launch.size()) == launch) info.launchMarker = std::string(entry.substr(launch.size()));
    start = end + 1;
  }
}

std::optional<ProcessInfo> statOf(pid_t pid, std::string* comm = nullptr) {
  std::optional<StatFields> stat = readStat(pid);
  if (!stat) return std::nullopt;
  if (comm != nullptr) *comm = stat->comm;
  ProcessInfo info;
  info.id = {pid, stat->startTime};
  info.ppid = stat->ppid;
  info.pgid = stat->pgid;
  info.sid = stat->sid;
  info.state = stat->state;
  return info;
}

// Calls `each(pid)` for every numeric entry of /proc.
template <class Fn>
void forEachPid(Fn each) {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return;
  while (dirent* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    if (*name < '1' || *name > '9' || std::strspn(name, "0123456789") != std::strlen(name)) continue;
    each(static_cast<pid_t>(std::atol(name)));
  }
  ::closedir(dir);
}

std::optional<ProcessInfo> snapshotOf(pid_t pid) {
  std::string comm;
  std::optional<ProcessInfo> stat = statOf(pid, &comm);
  if (!stat) return std::nullopt;
  ProcessInfo info = std::move(*stat);
  struct stat owner{};
  if (::stat(procPath(pid, "").c_str(), &owner) == 0) info.uid = owner.st_uid;
  info.command = commandLine(pid, comm);
  readMarkers(pid, info);  // after state: zombies have no environment
  return info;
}

bool isZombieState(char state) { return state == 'Z' || state == 'X'; }

int openPidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int sendThroughPidfd(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

Error goneError(const ProcessIdentity& process, const std::string& why) {
  return Error::gone("process " + process.text() + " " + why);
}

// Checks that `pid` still has `startTime`; returns the error to report when not.
std::optional<Error> checkIdentity(const ProcessIdentity& process, std::optional<StatFields>& stat) {
  stat = readStat(process.pid);
  if (!stat) return goneError(process, "does not exist");
  if (stat->startTime != process.startTime) {
    return goneError(process, "is gone: pid " + std::to_string(process.pid) + " now belongs to another process (start time " +
                                  std::to_string(stat->startTime) + ")");
  }
  return std::nullopt;
}

Status signalWithoutPidfd(const ProcessIdentity& process, int sig) {
  std::optional<StatFields> stat;
  if (auto error = checkIdentity(process, stat)) return *error;
  if (isZombieState(stat->state)) return Status::success();
  if (::kill(process.pid, sig) == 0) return Status::success();
  if (errno == ESRCH) return goneError(process, "exited");
  return Error::permanent("cannot signal process " + process.text() + ": " + std::strerror(errno));
}

std::set<pid_t> ancestorsOfSelf(const std::vector<ProcessInfo>& snapshot) {
  std::map<pid_t, pid_t> parent;
  for (const auto& p : snapshot) parent[p.id.pid] = p.ppid;
  std::set<pid_t> ancestors;
  for (pid_t pid = ::getpid(); pid > 0 && ancestors.insert(pid).second;) {
    auto it = parent.find(pid);
    if (it == parent.end()) break;
    pid = it->second;
  }
  return ancestors;
}

}  // namespace

std::string ProcessIdentity::text() const { return std::to_string(pid) + "@" + std::to_string(startTime); }

std::optional<ProcessIdentity> ProcessIdentity::parse(const std::string& text) {
  const size_t at = text.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= text.size()) return std::nullopt;
  if (text.find_first_not_of("0123456789@") != std::string::npos || text.find('@', at + 1) != std::string::npos) {
    return std::nullopt;
  }
  try {
    long pid = std::stol(text.substr(0, at));
    if (pid <= 0) return std::nullopt;
    return ProcessIdentity{static_cast<pid_t>(pid), std::stoull(text.substr(at + 1))};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string describe(const ProcessInfo& process) { return std::to_string(process.id.pid) + " " + process.command; }

Result<ProcessInfo> readProcess(pid_t pid) {
  if (pid <= 0) return Error::permanent("readProcess: pid must be positive, got " + std::to_string(pid));
  std::optional<ProcessInfo> info = snapshotOf(pid);
  if (!info) return Error::gone("process " + std::to_string(pid) + " does not exist");
  return *info;
}

Result<ProcessIdentity> identityOf(pid_t pid) {
  if (pid <= 0) return Error::permanent("identityOf: pid must be positive, got " + std::to_string(pid));
  std::optional<StatFields> stat = readStat(pid);
  if (!stat) return Error::gone("process " + std::to_string(pid) + " does not exist");
  return ProcessIdentity{pid, stat->startTime};
}

std::vector<ProcessInfo> listProcesses() {
  std::vector<ProcessInfo> processes;
  forEachPid([&](pid_t pid) {
    if (std::optional<ProcessInfo> info = snapshotOf(pid)) processes.push_back(std::move(*info));
  });
  return processes;
}

std::vector<ProcessInfo> listProcessStats() {
  std::vector<ProcessInfo> processes;
  forEachPid([&](pid_t pid) {
    if (std::optional<ProcessInfo> info = statOf(pid)) processes.push_back(std::move(*info));
  });
  return processes;
}

std::vector<std::optional<std::string>> environmentValues(pid_t pid, const std::vector<std::string>& variables) {
  std::vector<std::optional<std::string>> values(variables.size());
  if (pid <= 0) return values;
  std::optional<std::string> environ = readEnvironment(pid, false);
  if (!environ) return values;
  size_t start = 0;
  while (start < environ->size()) {
    size_t end = environ->find('\0', start);
    if (end == std::string::npos) end = environ->size();
    const std::string_view entry(environ->data() + start, end - start);
    for (size_t i = 0; i < variables.size(); ++i) {
      const std::string& name = variables[i];
      if (entry.size() > name.size() && entry[name.size()] == '=' && entry.substr(0, name.size()) == name) {
        values[i] = std::string(entry.substr(name.size() + 1));
      }
    }
    start = end + 1;
  }
  return values;
}

std::vector<ProcessInfo> descendantsOf(const ProcessIdentity& root) { return descendantsOf(root, listProcesses()); }

std::vector<ProcessInfo> descendantsOf(const ProcessIdentity& root, const std::vector<ProcessInfo>& snapshot) {
  std::multimap<pid_t, const ProcessInfo*> children;
  bool rootPresent = false;
  for (const auto& p : snapshot) {
    children.emplace(p.ppid, &p);
    if (p.id == root && !p.isZombie()) rootPresent = true;
  }
  std::vector<ProcessInfo> found;
  if (!rootPresent) return found;
  std::vector<pid_t> pending{root.pid};
  std::set<pid_t> seen{root.pid};
  while (!pending.empty()) {
    pid_t parent = pending.back();
    pending.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      const ProcessInfo& child = *it->second;
      if (!seen.insert(child.id.pid).second) continue;
      found.push_back(child);
      pending.push_back(child.id.pid);
    }
  }
  return found;
}

bool exists(const ProcessIdentity& process) {
  std::optional<StatFields> stat = readStat(process.pid);
  return stat && stat->startTime == process.startTime;
}

bool isAlive(const ProcessIdentity& process) {
  std::optional<StatFields> stat = readStat(process.pid);
  return stat && stat->startTime == process.startTime && !isZombieState(stat->state);
}

Status signalProcess(const ProcessIdentity& process, int sig) {
  if (process.pid <= 0) return Error::permanent("signalProcess: pid must be positive, got " + std::to_string(process.pid));
  const int pidfd = openPidfd(process.pid);
  if (pidfd < 0 && errno == ESRCH) return goneError(process, "does not exist");
  if (pidfd < 0 && errno == ENOSYS) return signalWithoutPidfd(process, sig);
  if (pidfd < 0) return Error::permanent("cannot open a pidfd for process " + process.text() + ": " + std::strerror(errno));
  // The pidfd names the process that had the pid when it was opened; the
  // start time read afterwards proves it is the one we mean.
  std::optional<StatFields> stat;
  if (auto error = checkIdentity(process, stat)) {
    ::close(pidfd);
    return *error;
  }
  if (isZombieState(stat->state)) {
    ::close(pidfd);
    return Status::success();
  }
  const int rc = sendThroughPidfd(pidfd, sig);
  const int error = errno;
  ::close(pidfd);
  if (rc == 0) return Status::success();
  if (error == ESRCH) return goneError(process, "exited");
  if (error == ENOSYS) return signalWithoutPidfd(process, sig);
  return Error::permanent("cannot signal process " + process.text() + ": " + std::strerror(error));
}

Status signalGroup(pid_t pgid, const ProcessIdentity& leader, int sig) {
  if (pgid <= 1) return Error::permanent("signalGroup: process group id must be above 1, got " + std::to_string(pgid));
  // Hold a pidfd on the leader while checking and signalling: while it is
  // alive its pid (and so the group id) cannot be handed to anyone else.
  const int pidfd = openPidfd(leader.pid);
  std::optional<StatFields> stat;
  auto release = [&] {
    if (pidfd >= 0) ::close(pidfd);
  };
  if (auto error = checkIdentity(leader, stat)) {
    release();
    return *error;
  }
  if (isZombieState(stat->state)) {
    release();
    return goneError(leader, "has exited (zombie); signal the group's members one by one");
  }
  if (stat->pgid != pgid) {
    release();
    return Error::gone("process " + leader.text() + " is no longer in process group " + std::to_string(pgid) +
                       " (now " + std::to_string(stat->pgid) + ")");
  }
  const int rc = ::kill(-pgid, sig);
  const int error = errno;
  release();
  if (rc == 0) return Status::success();
  if (error == ESRCH) return Error::gone("process group " + std::to_string(pgid) + " does not exist");
  return Error::permanent("cannot signal process group " + std::to_string(pgid) + ": " + std::strerror(error));
}

std::vector<ProcessInfo> signalTree(const ProcessIdentity& root, int sig) {
  std::vector<ProcessInfo> snapshot = listProcesses();
  std::vector<ProcessInfo> targets = descendantsOf(root, snapshot);
  for (const auto& p : snapshot) {
    if (p.id == root) targets.push_back(p);
  }
  std::vector<ProcessInfo> signalled;
  for (const auto& p : targets) {
    if (p.isZombie()) continue;
    Status status = signalProcess(p.id, sig);
    if (status.ok()) {
      signalled.push_back(p);
      continue;
    }
    if (!status.error().isGone()) {
      logger().debug("step=signal pid={} signal={} result=error error=\"{}\"", p.id.pid, sig, status.error().message);
    }
  }
  return signalled;
}

std::vector<ProcessInfo> processesMarkedWith(const std::string& runId, const char* variable) {
  std::vector<ProcessInfo> marked;
  if (runId.empty() || variable == nullptr) return marked;
  const bool launch = std::strcmp(variable, kLaunchMarkerVariable) == 0;
  if (!launch && std::strcmp(variable, kRunMarkerVariable) != 0) return marked;
  std::vector<ProcessInfo> snapshot = listProcesses();
  const std::set<pid_t> ancestors = ancestorsOfSelf(snapshot);
  for (auto& p : snapshot) {
    const std::optional<std::string>& marker = launch ? p.launchMarker : p.runMarker;
    if (!marker || *marker != runId || p.isZombie() || ancestors.count(p.id.pid) != 0) continue;
    marked.push_back(std::move(p));
  }
  return marked;
}

namespace {

// A process awaitExit watches: through a pidfd, or (fd -1) by polling /proc.
struct WatchedProcess {
  ProcessIdentity id;
  int pidfd = -1;
};

constexpr std::chrono::milliseconds kPollWithoutPidfd{10};

// Opens a pidfd for `process` when it is alive; nullopt when it is not.
std::optional<WatchedProcess> watch(const ProcessIdentity& process) {
  const int pidfd = process.pid > 0 ? openPidfd(process.pid) : -1;
  if (pidfd < 0 && (process.pid <= 0 || errno == ESRCH)) return std::nullopt;
  // Opened first, checked after: the pidfd names the process the start time
  // belongs to (a reused pid shows another start time).
  if (!isAlive(process)) {
    if (pidfd >= 0) ::close(pidfd);
    return std::nullopt;
  }
  return WatchedProcess{process, pidfd};
}

// Closes and removes the watched processes that are no longer alive.
void dropExited(std::vector<WatchedProcess>& watched, const std::vector<pollfd>& polled) {
  std::vector<WatchedProcess> alive;
  size_t next = 0;
  for (const WatchedProcess& w : watched) {
    bool exited = false;
    if (w.pidfd >= 0) {
      exited = (polled[next++].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0;
    } else {
      exited = !isAlive(w.id);
    }
    if (exited && w.pidfd >= 0) ::close(w.pidfd);
    if (!exited) alive.push_back(w);
  }
  watched = std::move(alive);
}

}  // namespace

std::vector<ProcessIdentity> awaitExit(const std::vector<ProcessIdentity>& processes,
                                       std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<WatchedProcess> watched;
  for (const ProcessIdentity& p : processes) {
    if (std::optional<WatchedProcess> w = watch(p)) watched.push_back(*w);
  }
  while (!watched.empty()) {
    std::vector<pollfd> fds;
    bool polling = false;  // some process has no pidfd
    for (const WatchedProcess& w : watched) {
      if (w.pidfd >= 0) fds.push_back({w.pidfd, POLLIN, 0});
      polling = polling || w.pidfd < 0;
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    left = std::max(left, std::chrono::milliseconds(0));
    if (polling) left = std::min(left, kPollWithoutPidfd);
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) break;
    if (ready < 0) continue;
    dropExited(watched, fds);
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  std::vector<ProcessIdentity> alive;
  for (const WatchedProcess& w : watched) {
    if (w.pidfd >= 0) ::close(w.pidfd);
    alive.push_back(w.id);
  }
  return alive;
}

std::optional<int> reapIfChild(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid, &status, WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc != pid) return std::nullopt;
  return status;
}

int reapZombieChildren(const std::vector<ProcessIdentity>& processes) {
  const pid_t self = ::getpid();
  int reaped = 0;
  for (const auto& process : processes) {
    std::optional<StatFields> stat = readStat(process.pid);
    if (!stat || stat->startTime != process.startTime || stat->ppid != self || !isZombieState(stat->state)) continue;
    if (reapIfChild(process.pid)) ++reaped;
  }
  return reaped;
}

bool becomeChildSubreaper() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
      logger().debug("step=subreaper result=error error=\"{}\"", std::strerror(errno));
    }
  });
  int isSet = 0;
  if (::prctl(PR_GET_CHILD_SUBREAPER, &isSet, 0, 0, 0) != 0) return false;
  return isSet != 0;
}

std::string describeWaitStatus(int waitStatus) {
  if (WIFEXITED(waitStatus)) return "exited with status " + std::to_string(WEXITSTATUS(waitStatus));
  if (WIFSIGNALED(waitStatus)) {
    const char* name = ::sigabbrev_np(WTERMSIG(waitStatus));
    return std::string("killed by SIG") + (name != nullptr ? name : std::to_string(WTERMSIG(waitStatus)).c_str());
  }
  return "stopped or continued (wait status " + std::to_string(waitStatus) + ")";
}

}  // namespace cleanroom

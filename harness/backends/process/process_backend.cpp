// ProcessBackend: launched and adopted local processes, their descendants and
// the run's marked leftovers, found through /proc and stopped by identity.
#include "cleanroom/backends/process_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cleanroom/journal.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"

extern char** environ;

namespace cleanroom {

struct ProcessBackend::Tracked {
  Resource resource;  // backend, id, name, labels, runId, createdAt
  ProcessIdentity root;
  pid_t pgid = 0;
  bool launched = false;  // our child: we reap it and may signal its group
  std::string command;
  std::optional<int> waitStatus;
  std::map<ProcessIdentity, ProcessInfo> family;  // descendants seen so far
  std::optional<std::string> cgroup;
  bool stopRequested = false;
};

namespace {

using Snapshot = std::map<pid_t, const ProcessInfo*>;

Snapshot indexed(const std::vector<ProcessInfo>& processes) {
  Snapshot index;
  for (const auto& p : processes) index[p.id.pid] = &p;
  return index;
}

const ProcessInfo* lookup(const Snapshot& index, const ProcessIdentity& id) {
  auto it = index.find(id.pid);
  if (it == index.end() || it->second->id.startTime != id.startTime) return nullptr;
  return it->second;
}

bool aliveIn(const Snapshot& index, const ProcessIdentity& id) {
  const ProcessInfo* p = lookup(index, id);
  return p != nullptr && !p->isZombie();
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
  return text;
}

std::string basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::optional<std::string> readSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool writeSmallFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::set<pid_t> selfAndAncestors(const Snapshot& index) {
  std::set<pid_t> chain;
  for (pid_t pid = ::getpid(); pid > 0 && chain.insert(pid).second;) {
    auto it = index.find(pid);
    if (it == index.end()) break;
    pid = it->second->ppid;
  }
  return chain;
}

// The first cgroup2 mount point in /proc/self/mountinfo.
std::optional<std::string> cgroup2Mount() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string field, mountPoint;
    for (int i = 0; i < 5 && fields >> field; ++i) mountPoint = field;
    return mountPoint;
  }
  return std::nullopt;
}

// This process's cgroup v2 path ("0::/path" in /proc/self/cgroup).
std::optional<std::string> ownCgroup2Path(pid_t pid) {
  std::ifstream cgroups("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(cgroups, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return std::nullopt;
}

// Resolves `name` through PATH like execvp; returns it unchanged when it has a slash.
std::optional<std::string> resolveProgram(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::vector<std::string> environmentFor(const LaunchOptions& options, const std::string& runId) {
  std::map<std::string, std::string> overrides = options.environment;
  overrides[kRunMarkerVariable] = runId;
  overrides[kLaunchMarkerVariable] = runId;
  std::vector<std::string> env;
  for (char** e = environ; options.inheritEnvironment && e != nullptr && *e != nullptr; ++e) {
    std::string entry = *e;
    if (overrides.count(entry.substr(0, entry.find('='))) == 0) env.push_back(std::move(entry));
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

// What the child reports through the exec pipe when it fails before exec.
struct ChildFailure {
  int stage = 0;  // 1 chdir, 2 exec
  int error = 0;
};

[[noreturn]] void childFail(int pipeFd, int stage) {
  ChildFailure failure{stage, errno};
  (void)!::write(pipeFd, &failure, sizeof failure);
  ::_exit(127);
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void execChild(const char* path, char* const argv[], char* const envp[], int devNull, int outFd,
                            int cgroupFd, const char* workingDirectory, int pipeFd) {
  ::setpgid(0, 0);
  if (cgroupFd >= 0) (void)!::write(cgroupFd, "0", 1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction defaults{};
  defaults.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &defaults, nullptr);
  if (devNull >= 0) ::dup2(devNull, STDIN_FILENO);
  if (outFd >= 0) {
    ::dup2(outFd, STDOUT_FILENO);
    ::dup2(outFd, STDERR_FILENO);
  }
  if (workingDirectory != nullptr && ::chdir(workingDirectory) != 0) childFail(pipeFd, 1);
  ::execve(path, argv, envp);
  childFail(pipeFd, 2);
}

class FdCloser {
 public:
  explicit FdCloser(std::initializer_list<int*> fds) : fds_(fds) {}
  ~FdCloser() {
    for (int* fd : fds_) {
      if (*fd >= 0) ::close(*fd);
    }
  }

 private:
  std::vector<int*> fds_;
};

Resource looseResource(const ProcessInfo& p, const std::string& runId, const char* role) {
  Resource r;
  r.backend = "process";
  r.id = p.id.text();
  r.name = p.command;
  r.runId = runId;
  r.labels[kRunLabel] = runId;
  r.labels[kProcessRoleLabel] = role;
  r.state = ResourceState::Running;
  r.status = "running";
  return r;
}

int signalFor(StopMode mode) { return mode == StopMode::Graceful ? SIGTERM : SIGKILL; }

}  // namespace

ProcessBackend::ProcessBackend(ProcessBackendConfig config)
    : config_(std::move(config)), runId_(config_.runId.empty() ? run::id() : config_.runId) {
  Status valid = run::validateId(runId_, "ProcessBackendConfig::runId");
  if (!valid.ok()) throw ConfigError(valid.error().message);
}

ProcessBackend::~ProcessBackend() {
  for (auto& [id, tracked] : tracked_) {
    if (tracked->cgroup && ::rmdir(tracked->cgroup->c_str()) != 0) {
      logger().debug("step=cgroup-remove path={} result=error error=\"{}\"", *tracked->cgroup, std::strerror(errno));
    }
  }
}

ProcessBackend::Tracked* ProcessBackend::find(const std::string& id) {
  auto it = tracked_.find(id);
  return it == tracked_.end() ? nullptr : it->second.get();
}

std::optional<std::string> ProcessBackend::makeCgroup() {
  if (!config_.useCgroups) return std::nullopt;
  if (!cgroupParentResolved_) {
    cgroupParentResolved_ = true;
    if (!config_.cgroupParent.empty()) {
      cgroupParent_ = config_.cgroupParent;
    } else if (auto mount = cgroup2Mount(); mount) {
      std::string own = ownCgroup2Path(::getpid()).value_or("/");
      cgroupParent_ = *mount + (own == "/" ? "" : own);
    }
    if (!cgroupParent_) logger().debug("step=cgroup result=unavailable reason=\"no cgroup2 mount\"");
  }
  if (!cgroupParent_) return std::nullopt;
  std::string dir = *cgroupParent_ + "/cleanroom-" + runId_ + "-" + std::to_string(::getpid()) + "-" +
                    std::to_string(++launches_);
  if (::mkdir(dir.c_str(), 0755) != 0) {
    logger().debug("step=cgroup path={} result=unavailable error=\"{}\"", dir, std::strerror(errno));
    return std::nullopt;
  }
  return dir;
}

Result<Resource> ProcessBackend::launch(const std::vector<std::string>& argv, const LaunchOptions& options) {
  if (argv.empty() || argv[0].empty()) return Error::permanent("process launch: argv is empty; give the program to run");
  const char* pathVariable = std::getenv("PATH");
  auto pathOverride = options.environment.find("PATH");
  const std::string searchPath = pathOverride != options.environment.end() ? pathOverride->second
                                                                           : (pathVariable ? pathVariable : "/usr/bin:/bin");
  std::optional<std::string> program = resolveProgram(argv[0], searchPath);
  if (!program) return Error::permanent("cannot start '" + argv[0] + "': not found in PATH (" + searchPath + ")");

  std::vector<std::string> args = argv, env = environmentFor(options, runId_);
  std::vector<char*> argp, envp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::lock_guard lock(mutex_);
  becomeChildSubreaper();
  int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC), outFd = -1, cgroupFd = -1, pipeFds[2] = {-1, -1};
  FdCloser closer{&devNull, &outFd, &cgroupFd, &pipeFds[0], &pipeFds[1]};
  if (!options.outputPath.empty()) {
    outFd = ::open(options.outputPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (outFd < 0) {
      return Error::permanent("cannot start '" + argv[0] + "': cannot open output file " + options.outputPath + ": " +
                              std::strerror(errno));
    }
  }
  std::optional<std::string> cgroup = makeCgroup();
  if (cgroup) cgroupFd = ::open((*cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) return Error::retryable(std::string("process launch: pipe2: ") + std::strerror(errno));

  const pid_t pid = ::fork();
  if (pid < 0) return Error::retryable("cannot start '" + argv[0] + "': fork: " + std::strerror(errno));
  if (pid == 0) {
    execChild(program->c_str(), argp.data(), envp.data(), devNull, outFd, cgroupFd,
              options.workingDirectory.empty() ? nullptr : options.workingDirectory.c_str(), pipeFds[1]);
  }
  ::setpgid(pid, pid);  // also from here, so the group exists whichever runs first
  ::close(pipeFds[1]);
  pipeFds[1] = -1;
  ChildFailure failure;
  ssize_t n;
  do {
    n = ::read(pipeFds[0], &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    ::waitpid(pid, nullptr, 0);  // it exits right after reporting
    if (cgroup) ::rmdir(cgroup->c_str());
    const std::string what = failure.stage == 1 ? "cannot enter working directory " + options.workingDirectory
                                                : "cannot execute " + *program;
    return Error::permanent("cannot start '" + argv[0] + "': " + what + ": " + std::strerror(failure.error));
  }

  auto tracked = std::make_unique<Tracked>();
  tracked->launched = true;
  Result<ProcessIdentity> identity = identityOf(pid);  // our unreaped child: it exists
  tracked->root = identity.ok() ? *identity : ProcessIdentity{pid, 0};
  tracked->pgid = pid;
  tracked->command = joined(argv);
  const std::string joinedCgroup = ownCgroup2Path(pid).value_or("");
  const bool joinedOurs = cgroup && !joinedCgroup.empty() && joinedCgroup != "/" && cgroup->size() >= joinedCgroup.size() &&
                          cgroup->compare(cgroup->size() - joinedCgroup.size(), std::string::npos, joinedCgroup) == 0;
  if (joinedOurs) {
    tracked->cgroup = cgroup;
  } else if (cgroup) {
    logger().debug("step=cgroup path={} result=unavailable reason=\"process did not join\"", *cgroup);
    ::rmdir(cgroup->c_str());
  }
  Resource& r = tracked->resource;
  r.backend = name();
  r.id = tracked->root.text();
  r.name = options.name.empty() ? basename(argv[0]) : options.name;
  r.runId = runId_;
  r.labels = options.labels;
  r.labels[kRunLabel] = runId_;
  r.labels[kProcessRoleLabel] = "launched";
  r.createdAt = std::chrono::system_clock::now();
  r.state = ResourceState::Running;
  r.status = "running";
  logger().debug("step=launch ref={} pgid={} command=\"{}\" cgroup={}", r.ref(), pid, tracked->command,
                 tracked->cgroup.value_or("none"));
  Resource result = r;
  tracked_[r.id] = std::move(tracked);
  (void)journal::recordCreated(*this, result);  // the reaper finds it by its launch marker
  return result;
}

Result<Resource> ProcessBackend::adopt(pid_t pid, const std::string& name, const std::map<std::string, std::string>& labels) {
  if (pid <= 0) return Error::permanent("process adopt: pid must be positive, got " + std::to_string(pid));
  Result<ProcessInfo> info = readProcess(pid);
  if (!info.ok()) return info.error();
  if (info->isZombie()) return Error::permanent("process adopt: " + describe(*info) + " has already exited (zombie)");
  std::vector<ProcessInfo> snapshot = listProcesses();
  if (selfAndAncestors(indexed(snapshot)).count(pid) != 0) {
    return Error::permanent("process adopt: refusing to adopt " + describe(*info) + ": it is this process or an ancestor");
  }
  std::lock_guard lock(mutex_);
  if (Tracked* existing = find(info->id.text())) return existing->resource;
  auto tracked = std::make_unique<Tracked>();
  tracked->root = info->id;
  tracked->pgid = info->pgid;
  tracked->command = info->command;
  Resource& r = tracked->resource;
  r.backend = this->name();
  r.id = info->id.text();
  r.name = name.empty() ? basename(info->command.substr(0, info->command.find(' '))) : name;
  r.runId = runId_;
  r.labels = labels;
  r.labels[kRunLabel] = runId_;
  r.labels[kProcessRoleLabel] = "adopted";
  r.createdAt = std::chrono::system_clock::now();
  r.state = ResourceState::Running;
  r.status = "running";
  refresh(*tracked, snapshot);
  logger().debug("step=adopt ref={} command=\"{}\" descendants={}", r.ref(), tracked->command, tracked->family.size());
  Resource result = r;
  tracked_[r.id] = std::move(tracked);
  return result;
}

void ProcessBackend::refresh(Tracked& tracked, const std::vector<ProcessInfo>& snapshot) {
  if (tracked.launched && !tracked.waitStatus) tracked.waitStatus = reapIfChild(tracked.root.pid);
  const Snapshot index = indexed(snapshot);
  std::vector<ProcessIdentity> roots{tracked.root};
  for (const auto& [id, info] : tracked.family) {
    if (aliveIn(index, id)) roots.push_back(id);
  }
  for (const auto& root : roots) {
    for (auto& p : descendantsOf(root, snapshot)) tracked.family[p.id] = p;
  }
  if (tracked.cgroup) {
    std::istringstream procs(readSmallFile(*tracked.cgroup + "/cgroup.procs").value_or(""));
    for (pid_t pid; procs >> pid;) {
      auto it = index.find(pid);
      if (it != index.end() && it->second->id != tracked.root) tracked.family[it->second->id] = *it->second;
    }
  }
  for (auto& [id, info] : tracked.family) {
    if (const ProcessInfo* now = lookup(index, id)) info = *now;
  }
}

void ProcessBackend::reapKnownZombies(const std::vector<ProcessInfo>& snapshot) {
  const pid_t self = ::getpid();
  for (const auto& p : snapshot) {
    if (!p.isZombie() || p.ppid != self) continue;
    bool known = seen_.count(p.id) != 0;
    for (const auto& [id, tracked] : tracked_) known = known || tracked->family.count(p.id) != 0;
    if (known) reapIfChild(p.id.pid);
  }
}

ResourceStatus ProcessBackend::statusOf(Tracked& tracked, const std::vector<ProcessInfo>& snapshot) {
  // Reap after the snapshot was taken: a root that is not alive in it has
  // exited already, so its exit status is there to collect.
  if (tracked.launched && !tracked.waitStatus) tracked.waitStatus = reapIfChild(tracked.root.pid);
  const Snapshot index = indexed(snapshot);
  const bool rootAlive = (!tracked.launched || !tracked.waitStatus) && aliveIn(index, tracked.root);
  const ResourceState active = tracked.stopRequested ? ResourceState::Stopping : ResourceState::Running;
  if (rootAlive) return {active, tracked.stopRequested ? "stopping" : "running"};
  std::string survivors;
  for (const auto& [id, info] : tracked.family) {
    if (aliveIn(index, id)) survivors += (survivors.empty() ? "" : ", ") + describe(info);
  }
  const std::string ending = tracked.waitStatus ? describeWaitStatus(*tracked.waitStatus) : "exited";
  if (!survivors.empty()) return {active, ending + "; descendants alive: " + survivors};
  if (tracked.cgroup && ::rmdir(tracked.cgroup->c_str()) == 0) tracked.cgroup.reset();
  return {ResourceState::Terminal, ending};
}

Resource ProcessBackend::resourceOf(Tracked& tracked, const std::vector<ProcessInfo>& snapshot) {
  Resource r = tracked.resource;
  ResourceStatus status = statusOf(tracked, snapshot);
  r.state = status.state;
  r.status = status.status;
  return r;
}

Result<std::vector<Resource>> ProcessBackend::list(const Selector& selector) {
  std::lock_guard lock(mutex_);
  std::vector<ProcessInfo> snapshot = listProcesses();
  for (auto& [id, tracked] : tracked_) refresh(*tracked, snapshot);
  reapKnownZombies(snapshot);
  snapshot = listProcesses();  // after reaping: zombies we reaped are gone
  const Snapshot index = indexed(snapshot);
  auto wanted = [&](const std::string& runId) { return !selector.runId || *selector.runId == runId; };

  std::vector<Resource> resources;
  std::set<ProcessIdentity> covered;
  for (auto& [id, tracked] : tracked_) {
    covered.insert(tracked->root);
    for (const auto& [member, info] : tracked->family) covered.insert(member);
    if (!wanted(tracked->resource.runId)) continue;
    resources.push_back(resourceOf(*tracked, snapshot));
    for (const auto& [member, info] : tracked->family) {
      if (info.pgid == tracked->pgid || !aliveIn(index, member)) continue;
      Resource escaped = looseResource(info, tracked->resource.runId, "escaped");
      escaped.labels[kProcessRootLabel] = tracked->resource.id;
      resources.push_back(std::move(escaped));
    }
  }
  const std::set<pid_t> ours = selfAndAncestors(index);
  for (const auto& p : snapshot) {
    if (!p.launchMarker || p.isZombie() || covered.count(p.id) != 0 || ours.count(p.id.pid) != 0) continue;
    if (!wanted(*p.launchMarker)) continue;
    seen_[p.id] = *p.launchMarker;
    resources.push_back(looseResource(p, *p.launchMarker, "leftover"));
  }
  return resources;
}

Status ProcessBackend::stopTracked(Tracked& tracked, StopMode mode) {
  std::vector<ProcessInfo> snapshot = listProcesses();
  refresh(tracked, snapshot);
  const Snapshot index = indexed(snapshot);
  const int sig = signalFor(mode);
  tracked.stopRequested = true;
  int signalled = 0;
  const bool rootAlive = (!tracked.launched || !tracked.waitStatus) && aliveIn(index, tracked.root);
  bool groupSignalled = false;
  if (rootAlive && tracked.launched && tracked.root.pid == tracked.pgid) {
    groupSignalled = signalGroup(tracked.pgid, tracked.root, sig).ok();
  }
  if (rootAlive && !groupSignalled && signalProcess(tracked.root, sig).ok()) ++signalled;
  if (groupSignalled) ++signalled;
  for (const auto& [id, info] : tracked.family) {
    if (!aliveIn(index, id) || (groupSignalled && info.pgid == tracked.pgid)) continue;
    if (signalProcess(id, sig).ok()) ++signalled;
  }
  if (mode == StopMode::Force && tracked.cgroup && !writeSmallFile(*tracked.cgroup + "/cgroup.kill", "1")) {
    logger().debug("step=cgroup-kill path={} result=error error=\"{}\"", *tracked.cgroup, std::strerror(errno));
  }
  logger().debug("step=signal ref={} signal={} group={} signalled={}", tracked.resource.ref(), sig,
                 groupSignalled ? tracked.pgid : 0, signalled);
  return Status::success();  // nothing alive any more = already stopped
}

bool ProcessBackend::isProvenOurs(const ProcessInfo& process, const std::string& runId) const {
  if (auto seen = seen_.find(process.id); seen != seen_.end() && seen->second == runId) return true;
  for (const auto& [id, tracked] : tracked_) {
    if (tracked->resource.runId == runId && tracked->family.count(process.id) != 0) return true;
  }
  return !runId.empty() && process.launchMarker && *process.launchMarker == runId;
}

Status ProcessBackend::stopUntracked(const Resource& resource, StopMode mode) {
  std::optional<ProcessIdentity> id = ProcessIdentity::parse(resource.id);
  if (!id) return Error::permanent("process: '" + resource.id + "' is not a process resource id (pid@starttime)");
  Result<ProcessInfo> info = readProcess(id->pid);
  if (!info.ok() || info->id != *id) return Error::gone("process " + resource.id + " is gone");
  if (info->isZombie()) return Status::success();
  if (!isProvenOurs(*info, resource.runId)) {
    return Error::permanent("process: refusing to signal " + describe(*info) + ": not started by run '" +
                            resource.runId + "' (no launch marker, not a descendant of a tracked process)");
  }
  Status status = signalProcess(*id, signalFor(mode));
  logger().debug("step=signal ref={} signal={} result={}", resource.ref(), signalFor(mode), status.ok() ? "ok" : "error");
  return status;
}

Status ProcessBackend::requestStop(const Resource& resource, StopMode mode) {
  std::lock_guard lock(mutex_);
  if (Tracked* tracked = find(resource.id)) return stopTracked(*tracked, mode);
  return stopUntracked(resource, mode);
}

Result<ResourceStatus> ProcessBackend::probe(const Resource& resource) {
  std::lock_guard lock(mutex_);
  std::vector<ProcessInfo> snapshot = listProcesses();
  if (Tracked* tracked = find(resource.id)) {
    refresh(*tracked, snapshot);
    reapKnownZombies(snapshot);
    return statusOf(*tracked, listProcesses());
  }
  std::optional<ProcessIdentity> id = ProcessIdentity::parse(resource.id);
  if (!id) return Error::permanent("process: '" + resource.id + "' is not a process resource id (pid@starttime)");
  reapKnownZombies(snapshot);
  Result<ProcessInfo> info = readProcess(id->pid);
  if (!info.ok() || info->id != *id) return ResourceStatus{ResourceState::Gone, "gone"};
  if (info->isZombie()) return ResourceStatus{ResourceState::Terminal, "exited (zombie of " + std::to_string(info->ppid) + ")"};
  return ResourceStatus{ResourceState::Running, "running"};
}

std::vector<ProcessInfo> ProcessBackend::survivorsOf(const Resource& resource) {
  std::lock_guard lock(mutex_);
  Tracked* tracked = find(resource.id);
  if (tracked == nullptr) return {};
  std::vector<ProcessInfo> snapshot = listProcesses();
  refresh(*tracked, snapshot);
  const Snapshot index = indexed(snapshot);
  std::vector<ProcessInfo> alive;
  for (const auto& [id, info] : tracked->family) {
    if (aliveIn(index, id)) alive.push_back(info);
  }
  return alive;
}

int ProcessBackend::forgetFinished() {
  std::lock_guard lock(mutex_);
  std::vector<ProcessInfo> snapshot = listProcesses();
  int forgotten = 0;
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    refresh(*it->second, snapshot);
    if (statusOf(*it->second, snapshot).state != ResourceState::Terminal) {
      ++it;
      continue;
    }
    it = tracked_.erase(it);
    ++forgotten;
  }
  return forgotten;
}

std::optional<std::string> ProcessBackend::cgroupOf(const Resource& resource) {
  std::lock_guard lock(mutex_);
  Tracked* tracked = find(resource.id);
  return tracked ? tracked->cgroup : std::nullopt;
}

}  // namespace cleanroom

#include "cleanroom/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cleanroom/duration.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/trace.h"
#include "cleanroom/wait.h"

extern char** environ;

namespace cleanroom {
namespace {

// How long processes killed with SIGKILL may take to disappear.
constexpr milliseconds kLeftoverExitTimeout{2000};

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string errnoText(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// Returns the processes in process group `pgid` other than `except`, zombies
// included (check isZombie()).
std::vector<ProcessInfo> groupMembers(pid_t pgid, pid_t except) {
  std::vector<ProcessInfo> members;
  for (const ProcessInfo& p : listProcessStats()) {
    if (p.pgid == pgid && p.id.pid != except) members.push_back(p);
  }
  return members;
}

struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attributes{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(const std::vector<std::string>& argv) {
  if (argv.empty()) return Error::permanent("ChildProcess::spawn: no program given");
  int out[2];
  int wake[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error::permanent("cannot start " + argv[0] + ": " + errnoText("pipe2"));
  if (::pipe2(wake, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return Error::permanent("cannot start " + argv[0] + ": " + errnoText("pipe2"));
  }

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, out[1], STDOUT_FILENO);
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  posix_spawnattr_setsigmask(&setup.attributes, &none);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &setup.actions, &setup.attributes, args.data(), environ);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(wake[0]);
    ::close(wake[1]);
    return Error::permanent("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  logger().debug("step=spawn program={} pid={} pgid={}", argv[0], pid, pid);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, out[0], wake[0], wake[1]));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    ::kill(-pid_, SIGKILL);
    reapBlocking();
  }
  stopForwarding();
  closeFd(stdoutFd_);
  closeFd(wakeRead_);
  closeFd(wakeWrite_);
}

Result<std::string> ChildProcess::readLine(milliseconds timeout) {
  Clock& clock = Clock::system();
  const SteadyTime deadline = clock.now() + timeout;
  while (true) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    const milliseconds left = millisBetween(clock.now(), deadline);
    if (left <= milliseconds(0)) {
      return Error::retryable("no complete output line within " + formatDuration(timeout));
    }
    pollfd ready{stdoutFd_, POLLIN, 0};
    const int polled = ::poll(&ready, 1, static_cast<int>(left.count()));
    if (polled < 0 && errno != EINTR) return Error::permanent(errnoText("poll"));
    if (polled <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(stdoutFd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // End of output: the child has exited or closed stdout. Say which.
    waitUntil(clock, clock.now() + std::chrono::seconds(1), AdaptiveWait{}, [this] { return tryReap(); });
    return Error::permanent("it closed its output before printing a line (" + describeStatus() + ")");
  }
}

void ChildProcess::forwardOutput(std::string prefix) {
  if (forwarder_.joinable()) return;
  forwarder_ = std::thread([this, prefix = std::move(prefix)] {
    std::string pending = std::move(buffer_);
    auto flushLines = [&](bool all) {
      std::size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        std::cerr << prefix << pending.substr(0, newline) << "\n";
        pending.erase(0, newline + 1);
      }
      if (all && !pending.empty()) std::cerr << prefix << pending << "\n";
      std::cerr.flush();
    };
    bool stopping = false;
    while (true) {
      pollfd fds[2] = {{stdoutFd_, POLLIN, 0}, {wakeRead_, POLLIN, 0}};
      // Once asked to stop, only drain what is already there.
      const int polled = ::poll(fds, stopping ? 1 : 2, stopping ? 0 : -1);
      if (polled < 0 && errno == EINTR) continue;
      if (polled <= 0) break;
      if (fds[0].revents != 0) {
        char chunk[4096];
        const ssize_t n = ::read(stdoutFd_, chunk, sizeof chunk);
        if (n <= 0) break;
        pending.append(chunk, static_cast<std::size_t>(n));
        flushLines(false);
        continue;
      }
      stopping = true;
    }
    flushLines(true);
  });
}

ChildProcess::Ending ChildProcess::stop(milliseconds timeout) {
  Ending ending;
  Clock& clock = Clock::system();
  const SteadyTime start = clock.now();
  if (!reaped_) {
    ::kill(pid_, SIGTERM);
    waitUntil(clock, start + timeout, AdaptiveWait{}, [this] { return tryReap(); });
  }
  if (!reaped_) {
    logger().warn("step=stop-mock pid={} result=no-exit-after-sigterm waited={} action=sigkill-group", pid_,
                  formatDuration(timeout));
    ::kill(-pid_, SIGKILL);
    reapBlocking();
    ending.description = describeStatus() + " after SIGTERM was ignored for " + formatDuration(timeout);
  } else {
    ending.graceful = true;
    ending.description = describeStatus();
  }
  if (WIFEXITED(waitStatus_)) ending.exitStatus = WEXITSTATUS(waitStatus_);
  stopForwarding();
  logger().debug("step=stop-mock pid={} result=\"{}\" ms={}", pid_, ending.description,
                 millisBetween(start, clock.now()).count());
  return ending;
}

bool ChildProcess::tryReap() {
  if (reaped_) return true;
  siginfo_t info{};
  // WNOWAIT keeps the exited child as a zombie, which keeps its pid (and so
  // its process group id) from being reused while leftovers are killed.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  if (info.si_pid != pid_) return false;
  reapBlocking();
  return true;
}

void ChildProcess::reapBlocking() {
  if (reaped_) return;
  killLeftoversInGroup();
  while (::waitpid(pid_, &waitStatus_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

void ChildProcess::killLeftoversInGroup() {
  // The child is a zombie now (or still running, when called from the
  // destructor after SIGKILL), so its pid, the group id, cannot be reused.
  Clock& clock = Clock::system();
  const SteadyTime deadline = clock.now() + kLeftoverExitTimeout;
  std::vector<ProcessIdentity> members;  // every member seen, to reap the orphans among them
  for (;;) {
    std::vector<ProcessIdentity> alive;
    for (const ProcessInfo& p : groupMembers(pid_, pid_)) {
      if (std::find(members.begin(), members.end(), p.id) == members.end()) members.push_back(p.id);
      if (!p.isZombie()) alive.push_back(p.id);
    }
    if (alive.empty()) break;
    logger().warn("step=stop-mock pgid={} leftover_processes={} action=sigkill-group", pid_, alive.size());
    ::kill(-pid_, SIGKILL);
    // SIGKILL is delivered asynchronously: wait (bounded) until they are gone,
    // then look again for members forked meanwhile.
    const milliseconds left = std::max(millisBetween(clock.now(), deadline), milliseconds(0));
    if (!awaitExit(alive, left).empty() || clock.now() >= deadline) {
      logger().warn("step=stop-mock pgid={} result=leftovers-did-not-exit waited={}", pid_,
                    formatDuration(kLeftoverExitTimeout));
      break;
    }
  }
  // Members orphaned by the child's exit were re-parented to us if we are a
  // child subreaper: reap those (by pid and start time; never waitpid(-1)).
  const int reaped = reapZombieChildren(members);
  if (reaped > 0) logger().debug("step=stop-mock pgid={} reaped_orphans={}", pid_, reaped);
}

void ChildProcess::stopForwarding() {
  if (!forwarder_.joinable()) return;
  const char byte = 1;
  [[maybe_unused]] const ssize_t written = ::write(wakeWrite_, &byte, 1);
  forwarder_.join();
}

std::string ChildProcess::describeStatus() const {
  if (!reaped_) return "still running";
  if (WIFEXITED(waitStatus_)) return "exited with status " + std::to_string(WEXITSTATUS(waitStatus_));
  if (WIFSIGNALED(waitStatus_)) {
    const int sig = WTERMSIG(waitStatus_);
    const char* name = ::sigabbrev_np(sig);
    return std::string("killed by SIG") + (name ? name : std::to_string(sig).c_str());
  }
  return "ended with wait status " + std::to_string(waitStatus_);
}

}  // namespace cleanroom

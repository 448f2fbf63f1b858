#include "agent_process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "cleanroom/mocks/mock_logger.h"

namespace cleanroom::mocks {
namespace {

constexpr int kSigtermExitCode = 128 + SIGTERM;

timespec addMilliseconds(timespec time, std::int64_t ms) {
  time.tv_sec += static_cast<time_t>(ms / 1000);
  time.tv_nsec += static_cast<long>((ms % 1000) * 1000000);
  if (time.tv_nsec >= 1000000000L) {
    time.tv_sec += 1;
    time.tv_nsec -= 1000000000L;
  }
  return time;
}

timespec monotonicNow() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return now;
}

// Returns `deadline - now`, or zero when it has passed.
timespec remainingUntil(const timespec& deadline) {
  const timespec now = monotonicNow();
  timespec left{deadline.tv_sec - now.tv_sec, deadline.tv_nsec - now.tv_nsec};
  if (left.tv_nsec < 0) {
    left.tv_sec -= 1;
    left.tv_nsec += 1000000000L;
  }
  if (left.tv_sec < 0) return timespec{0, 0};
  return left;
}

void sleepUntil(const timespec& deadline) {
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

// The agent's life in the child. Async-signal-safe calls only (we forked a
// multi-threaded process and do not exec).
[[noreturn]] void playAgent(const AgentProcessPlan& plan) {
  const timespec started = monotonicNow();
  const timespec finish = addMilliseconds(started, plan.runMs.value_or(0));
  if (plan.ignoreSigterm) {
    ::signal(SIGTERM, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!plan.runMs) {
      while (true) ::pause();
    }
    sleepUntil(finish);
    ::_exit(plan.exitCode);
  }
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::sigprocmask(SIG_SETMASK, &term, nullptr);  // SIGTERM stays blocked: taken by sigtimedwait
  while (true) {
    int received = -1;
    if (plan.runMs) {
      const timespec left = remainingUntil(finish);
      received = ::sigtimedwait(&term, nullptr, &left);
      if (received < 0 && errno == EAGAIN) ::_exit(plan.exitCode);
    } else {
      received = ::sigwaitinfo(&term, nullptr);
    }
    if (received == SIGTERM) {
      sleepUntil(addMilliseconds(monotonicNow(), plan.exitDelayMs));
      ::_exit(kSigtermExitCode);
    }
  }
}

// The child side of spawnAgentProcess, up to playAgent.
[[noreturn]] void becomeAgent(pid_t parent, int devNull, const AgentProcessPlan& plan) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  ::prctl(PR_SET_NAME, "cleanroom-agent");
  // SIGTERM is still blocked (see spawnAgentProcess); playAgent decides its fate.
  for (int signal : {SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT}) ::signal(signal, SIG_DFL);
  ::dup2(devNull, 0);
  ::dup2(devNull, 1);
  ::dup2(devNull, 2);
  ::close_range(3, ~0U, 0);
  playAgent(plan);
}

ProcessExit fromWaitStatus(int status) {
  ProcessExit exit;
  if (WIFEXITED(status)) exit.exitCode = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  return exit;
}

}  // namespace

std::optional<int> ProcessExit::shellCode() const {
  if (exitCode) return exitCode;
  if (signal) return 128 + *signal;
  return std::nullopt;
}

AgentProcessPlan agentProcessPlan(const AgentBehavior& behavior, std::int64_t exitDelayMs) {
  AgentProcessPlan plan;
  plan.runMs = behavior.runMs;
  plan.exitCode = behavior.outcome == AgentOutcome::failed ? 1 : 0;
  plan.exitDelayMs = exitDelayMs;
  plan.ignoreSigterm = behavior.ignoreSigterm;
  return plan;
}

pid_t spawnAgentProcess(const AgentProcessPlan& plan) {
  const int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devNull < 0) throw std::system_error(errno, std::generic_category(), "open /dev/null");
  // Fork with every signal blocked: the child unblocks what it handles once set
  // up, so an early SIGTERM waits for it instead of killing it half-made.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) becomeAgent(parent, devNull, plan);
  const int forkError = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::close(devNull);
  if (pid < 0) throw std::system_error(forkError, std::generic_category(), "fork");
  ::setpgid(pid, pid);  // also in the parent, so no signal can race the child's own setpgid
  return pid;
}

ChildWatch::ChildWatch(pid_t pid, std::function<void(const ProcessExit&)> onExit)
    : pid_(pid), onExit_(std::move(onExit)), thread_([this] { watch(); }) {}

ChildWatch::~ChildWatch() {
  killGroup();
  join();
}

void ChildWatch::signalLeader(int signal) {
  std::lock_guard lock(mutex_);
  if (!reaped_) ::kill(pid_, signal);
}

void ChildWatch::killGroup() {
  std::lock_guard lock(mutex_);
  if (!reaped_) ::kill(-pid_, SIGKILL);
}

void ChildWatch::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ChildWatch::watch() {
  siginfo_t info{};
  int rc = 0;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  ProcessExit exit;
  {
    std::lock_guard lock(mutex_);
    if (rc == 0) {
      ::kill(-pid_, SIGKILL);  // leftovers of the group; the zombie leader keeps the pgid ours
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      exit = fromWaitStatus(status);
    } else {
      mockLogger()->warn("agent process {}: waitid failed ({}); someone else reaped it", pid_,
                         std::strerror(errno));
    }
    reaped_ = true;
  }
  mockLogger()->debug("agent process {} reaped: exit code {}", pid_, exit.shellCode().value_or(-1));
  onExit_(exit);
  finished_ = true;
}

}  // namespace cleanroom::mocks

#include "container_process.h"

#include <fcntl.h>
#include <poll.h>
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

namespace cleanroom::mocks::docker {
namespace {

constexpr int kSigtermExitCode = 128 + SIGTERM;

std::system_error systemError(const char* what) {
  return std::system_error(errno, std::generic_category(), what);
}

timespec monotonicNow() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return now;
}

timespec addMilliseconds(timespec time, std::int64_t ms) {
  time.tv_sec += static_cast<time_t>(ms / 1000);
  time.tv_nsec += static_cast<long>((ms % 1000) * 1000000);
  if (time.tv_nsec >= 1000000000L) {
    time.tv_sec += 1;
    time.tv_nsec -= 1000000000L;
  }
  return time;
}

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

// Writes `line` (text and its newline, made before fork) to `fd` in as few
// writes as the pipe allows. Async-signal-safe.
void writeLine(int fd, const std::string& line) {
  if (line.size() <= 1) return;
  const std::string& text = line;
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

// The container's life in the child. Async-signal-safe calls only: we forked
// a multi-threaded process and do not exec.
[[noreturn]] void playContainer(const ContainerBehavior& behavior) {
  const timespec finish = addMilliseconds(monotonicNow(), behavior.runMs.value_or(0));
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  if (behavior.ignoreSigterm) {
    ::signal(SIGTERM, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!behavior.runMs) {
      while (true) ::pause();
    }
    sleepUntil(finish);
    ::_exit(behavior.exitCode);
  }
  ::sigprocmask(SIG_SETMASK, &term, nullptr);  // only SIGTERM stays blocked: taken by sigtimedwait
  while (true) {
    int received = -1;
    if (behavior.runMs) {
      const timespec left = remainingUntil(finish);
      received = ::sigtimedwait(&term, nullptr, &left);
      if (received < 0 && errno == EAGAIN) ::_exit(behavior.exitCode);
    } else {
      received = ::sigwaitinfo(&term, nullptr);
    }
    if (received == SIGTERM) {
      sleepUntil(addMilliseconds(monotonicNow(), behavior.exitDelayMs));
      ::_exit(kSigtermExitCode);
    }
  }
}

[[noreturn]] void becomeContainer(pid_t parent, int devNull, int out, int err, const ContainerBehavior& behavior,
                                  const std::string& stdoutLine, const std::string& stderrLine) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the mock died before prctl
  ::prctl(PR_SET_NAME, "cleanroom-ctr");
  for (int signal : {SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    ::signal(signal, SIG_DFL);
  }
  ::dup2(devNull, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  ::close_range(3, ~0U, 0);
  writeLine(1, stdoutLine);
  writeLine(2, stderrLine);
  playContainer(behavior);
}

ProcessExit fromWaitStatus(int status) {
  ProcessExit exit;
  if (WIFEXITED(status)) exit.exitCode = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  return exit;
}

struct Pipe {
  int read = -1;
  int write = -1;
};

Pipe makePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw systemError("pipe2");
  return {fds[0], fds[1]};
}

}  // namespace

int ProcessExit::dockerExitCode() const {
  if (exitCode) return *exitCode;
  if (signal) return 128 + *signal;
  return -1;
}

ContainerProcess::ContainerProcess(const ContainerBehavior& behavior) {
  const int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devNull < 0) throw systemError("open /dev/null");
  Pipe out;
  Pipe err;
  try {
    out = makePipe();
    err = makePipe();
  } catch (...) {
    for (int fd : {devNull, out.read, out.write}) {
      if (fd >= 0) ::close(fd);
    }
    throw;
  }
  // Fork with every signal blocked: the child unblocks what it handles once set
  // up, so an early SIGTERM waits for it instead of killing it half-made.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const std::string stdoutLine = behavior.stdoutText + "\n";  // no allocation after fork
  const std::string stderrLine = behavior.stderrText + "\n";
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) becomeContainer(parent, devNull, out.write, err.write, behavior, stdoutLine, stderrLine);
  const int forkError = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  for (int fd : {devNull, out.write, err.write}) ::close(fd);
  if (pid < 0) {
    ::close(out.read);
    ::close(err.read);
    throw std::system_error(forkError, std::generic_category(), "fork");
  }
  ::setpgid(pid, pid);  // also here, so that no signal can race the child's own setpgid
  pid_ = pid;
  stdoutFd_ = out.read;
  stderrFd_ = err.read;
}

ContainerProcess::~ContainerProcess() {
  killGroup();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    reap();
  }
  for (int fd : {stdoutFd_, stderrFd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void ContainerProcess::watch(OnOutput onOutput, OnExit onExit) {
  onOutput_ = std::move(onOutput);
  onExit_ = std::move(onExit);
  thread_ = std::thread([this] { watchLoop(); });
}

void ContainerProcess::signal(int signal) {
  std::lock_guard lock(mutex_);
  if (!reaped_) ::kill(pid_, signal);
}

void ContainerProcess::killGroup() {
  std::lock_guard lock(mutex_);
  if (!reaped_) ::kill(-pid_, SIGKILL);
}

void ContainerProcess::watchLoop() {
  readOutput();
  siginfo_t info{};
  int rc = 0;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) mockLogger()->warn("container process {}: waitid failed: {}", pid_, std::strerror(errno));
  int status = 0;
  {
    std::lock_guard lock(mutex_);
    ::kill(-pid_, SIGKILL);  // leftovers of the group; the unreaped leader keeps the pgid ours
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  const ProcessExit exit = fromWaitStatus(status);
  mockLogger()->debug("container process {} reaped: exit code {}", pid_, exit.dockerExitCode());
  onExit_(exit);
}

// Reads both pipes until both reach end of file (the process and its group
// are gone, or it closed them).
void ContainerProcess::readOutput() {
  pollfd fds[2] = {{stdoutFd_, POLLIN, 0}, {stderrFd_, POLLIN, 0}};
  int open = 2;
  char buffer[4096];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;  // poll ignores negative fds
        --open;
        continue;
      }
      onOutput_(i + 1, std::string(buffer, static_cast<std::size_t>(n)));
    }
  }
}

void ContainerProcess::reap() {
  std::lock_guard lock(mutex_);
  if (reaped_) return;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

}  // namespace cleanroom::mocks::docker

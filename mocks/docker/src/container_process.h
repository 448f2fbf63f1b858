// Internal: the real child process behind a running container.
// A container process is a forked child of the mock (no exec; comm
// "cleanroom-ctr") in its own process group, with stdout and stderr on pipes
// that its watch thread reads into the container log. It writes its configured
// output, then runs for runMs (or until signalled), exits 143 after its exit
// delay on SIGTERM (or ignores SIGTERM), and dies by any other signal's default
// action. It is a single process: SIGKILL leaves no grandchildren behind.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cleanroom/mocks/docker/container.h"

namespace cleanroom::mocks::docker {

// How a child ended, as waitpid reported it.
struct ProcessExit {
  std::optional<int> exitCode;  // exited normally with this code
  std::optional<int> signal;    // killed by this signal
  // Returns docker's exit code: exitCode, or 128 + signal, or -1 (unknown).
  int dockerExitCode() const;
};

class ContainerProcess {
 public:
  using OnOutput = std::function<void(int stream, const std::string& bytes)>;
  using OnExit = std::function<void(const ProcessExit&)>;

  // Forks the process for `behavior` with every signal blocked in the fork, in
  // a new process group, PR_SET_PDEATHSIG = SIGKILL (tied to the calling thread:
  // call it from a long-lived thread). Throws std::system_error when pipe or
  // fork fails. Does not block. No thread runs until watch().
  explicit ContainerProcess(const ContainerBehavior& behavior);
  // Kills the group and, if watching, joins the watch thread (which reaps);
  // otherwise reaps the child itself.
  ~ContainerProcess();
  ContainerProcess(const ContainerProcess&) = delete;
  ContainerProcess& operator=(const ContainerProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Starts the watch thread: it reads stdout/stderr to their end (onOutput per
  // chunk), waits for the child's exit (waitid on this pid), SIGKILLs what is
  // left of its group, reaps it and calls onExit. Callbacks run on that thread.
  void watch(OnOutput onOutput, OnExit onExit);
  // Sends `signal` to the process (the group leader) unless it is reaped.
  void signal(int signal);
  // Sends SIGKILL to the whole process group unless the leader is reaped.
  void killGroup();

 private:
  void watchLoop();
  void readOutput();
  void reap();

  pid_t pid_ = -1;
  int stdoutFd_ = -1;
  int stderrFd_ = -1;
  OnOutput onOutput_;
  OnExit onExit_;
  std::mutex mutex_;  // held while reaping, so that a signal never hits a reused pid
  bool reaped_ = false;
  std::thread thread_;
};

}  // namespace cleanroom::mocks::docker

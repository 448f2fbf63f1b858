// Internal: real child processes behind realProcess agents.
// An agent process is a forked child (no exec, comm "cleanroom-agent") in its own
// process group. It runs for runMs (or forever), handles SIGTERM by exiting 143
// after its exit delay (or ignores SIGTERM), and exits 0/1 per outcome. It is a
// single process: unlike a `sh -c 'sleep ...'` script it leaves no orphaned
// grandchildren behind when it is SIGKILLed. A ChildWatch reaps exactly that pid
// (never waitpid(-1): the library also runs inside test processes).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cleanroom/mocks/agents/agent.h"

namespace cleanroom::mocks {

// How a child ended, as waitpid reported it.
struct ProcessExit {
  std::optional<int> exitCode;  // exited normally with this code
  std::optional<int> signal;    // killed by this signal
  // Returns the shell-style code: exitCode, or 128 + signal, or nullopt (unknown).
  std::optional<int> shellCode() const;
};

// What the child process does, fixed before fork.
struct AgentProcessPlan {
  std::optional<std::int64_t> runMs;  // nullopt = run until signalled
  int exitCode = 0;                   // when runMs elapses (0 completed, 1 failed)
  std::int64_t exitDelayMs = 0;       // between SIGTERM and exit(143)
  bool ignoreSigterm = false;
};

// Returns the plan of an agent with `behavior` and its drawn exit delay.
AgentProcessPlan agentProcessPlan(const AgentBehavior& behavior, std::int64_t exitDelayMs);

// Forks the agent process in a new process group with stdio on /dev/null, no
// inherited descriptors, and PR_SET_PDEATHSIG = SIGKILL (tied to the calling
// thread: call it from a long-lived thread). The child runs only
// async-signal-safe code. Returns the pid; throws std::system_error if fork
// fails. Does not block.
pid_t spawnAgentProcess(const AgentProcessPlan& plan);

// Watches one child: a thread blocks in waitid() on its pid, then SIGKILLs what
// is left of its process group, reaps it and calls onExit (from that thread).
class ChildWatch {
 public:
  ChildWatch(pid_t pid, std::function<void(const ProcessExit&)> onExit);
  // Kills the group and joins the thread.
  ~ChildWatch();
  ChildWatch(const ChildWatch&) = delete;
  ChildWatch& operator=(const ChildWatch&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signal` to the group leader only, unless it is already reaped.
  void signalLeader(int signal);
  // Sends SIGKILL to the whole process group, unless it is already reaped.
  void killGroup();
  // Returns true if and only if the child was reaped and onExit has returned.
  bool finished() const { return finished_.load(); }
  // Blocks until the watch thread has ended (the child is reaped).
  void join();

 private:
  void watch();
  const pid_t pid_;
  std::function<void(const ProcessExit&)> onExit_;
  std::mutex mutex_;  // held while reaping, so a signal never hits a reused pid
  bool reaped_ = false;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace cleanroom::mocks

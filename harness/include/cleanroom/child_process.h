// ChildProcess: one program started in a
// process group of its own with its stdout on a pipe, so that it can be read
// from, stopped and — when it does not stop — killed with everything it
// started, by process group id, never by name.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cleanroom/clock.h"
#include "cleanroom/result.h"

namespace cleanroom {

class ChildProcess {
 public:
  // Starts argv[0] (a path, no PATH lookup) with `argv`, in a new process
  // group whose id is its pid, stdout piped to us, stdin/stderr inherited.
  // Returns a Permanent error naming the program when it cannot be started.
  static Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv);

  ~ChildProcess();  // kills the process group if the child is still running (as stop)
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Returns the next line of the child's stdout (without the newline). Blocks
  // until a line arrives, at most `timeout`; returns a Retryable error on
  // timeout and a Permanent one (saying how the child ended) at end of file.
  Result<std::string> readLine(milliseconds timeout);

  // Copies the rest of the child's stdout to our stderr, each line prefixed
  // with `prefix`, on a thread of its own until stop() (does not block).
  void forwardOutput(std::string prefix);

  // Sends SIGTERM and waits for the exit, at most `timeout`; then sends
  // SIGKILL to the process group and waits for the exit. Afterwards kills
  // whatever is left in the group (SIGKILL to the group, while the child's
  // unreaped pid keeps the group id from being reused) and waits up to 2 s
  // (pidfds) for those members to exit. Members that are zombie children of
  // this process — after becomeChildSubreaper(), the members orphaned by
  // the child's exit are re-parented to us — are reaped, by pid and start
  // time (never waitpid(-1)). Returns how the child ended, e.g.
  // "exited with status 0" or "killed with SIGKILL after 3s". Idempotent.
  // Blocks for at most `timeout` plus the SIGKILL'd exits.
  struct Ending {
    std::string description;
    bool graceful = false;   // exited by itself after SIGTERM
    int exitStatus = -1;     // when it exited (not killed by a signal)
  };
  Ending stop(milliseconds timeout);

 private:
  ChildProcess(pid_t pid, int stdoutFd, int wakeRead, int wakeWrite)
      : pid_(pid), stdoutFd_(stdoutFd), wakeRead_(wakeRead), wakeWrite_(wakeWrite) {}

  // Reaps the child if it exited; returns true when it has been reaped.
  bool tryReap();
  void reapBlocking();
  void stopForwarding();
  // SIGKILLs the group's remaining members, waits (bounded) for them to
  // exit and reaps those that are our zombie children.
  void killLeftoversInGroup();
  std::string describeStatus() const;

  pid_t pid_;
  int stdoutFd_;
  int wakeRead_;
  int wakeWrite_;
  std::string buffer_;
  bool reaped_ = false;
  int waitStatus_ = 0;
  std::thread forwarder_;
};

}  // namespace cleanroom

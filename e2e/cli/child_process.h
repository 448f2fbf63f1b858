// Real child processes for the CLI end-to-end tests.
//
// runCommand() runs a program to completion with captured stdout/stderr and
// a changed environment (the `cleanroom` CLI). ServerProcess starts a server
// (`cleanroom-mock-agents --port 0`) in its own process group, reads its
// first stdout line ("listening on http://HOST:PORT") from a pipe, and stops
// it by PID in stop()/the destructor, reaping it with waitpid. Failures to
// start throw std::runtime_error: this is gtest boundary code.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cleanroom::e2e {

// Variables to set (a value) or unset (nullopt) in the child's environment;
// everything else is inherited.
using EnvironmentChanges = std::map<std::string, std::optional<std::string>>;

struct CommandResult {
  int exitCode = -1;  // 128 + signal number when killed by a signal
  std::string out;
  std::string err;

  // Returns "exit=N\nstdout:\n...\nstderr:\n..." for failure messages.
  std::string describe() const;
};

// Runs `argv` (argv[0] is the program's path), waits for it to exit and
// returns what it printed. Blocks until it exits; after `limit` it is killed
// (with its process group) and std::runtime_error is thrown.
CommandResult runCommand(const std::vector<std::string>& argv, const EnvironmentChanges& environment,
                         std::chrono::milliseconds limit = std::chrono::seconds(120));

class ServerProcess {
 public:
  // Starts `argv` in a new process group (it also gets SIGTERM if this
  // process dies) and blocks until it prints its first stdout line (at most
  // `startLimit`). Throws std::runtime_error when it exits or stays silent.
  ServerProcess(const std::vector<std::string>& argv, std::chrono::milliseconds startLimit = std::chrono::seconds(10));
  // Calls stop().
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Returns the first stdout line, without the newline.
  const std::string& firstLine() const { return firstLine_; }
  pid_t pid() const { return pid_; }

  // Sends SIGTERM, waits up to `limit` for the exit, then SIGKILLs the process
  // group; reaps the process and returns its exit code (128 + signal when
  // killed). Idempotent: later calls return the first result.
  int stop(std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  pid_t pid_ = -1;
  int stdoutFd_ = -1;
  std::string firstLine_;
  std::thread drain_;  // reads stdout past the first line until EOF
  std::optional<int> exitCode_;
};

// Returns "http://HOST:PORT" from a "listening on http://HOST:PORT" line;
// throws std::runtime_error for anything else.
std::string urlFromListeningLine(const std::string& line);

}  // namespace cleanroom::e2e

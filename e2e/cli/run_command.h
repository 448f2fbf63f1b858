// Real child processes for the CLI end-to-end tests.
//
// runCommand() runs a program to completion with captured stdout/stderr and
// a changed environment (the `cleanroom` CLI). Servers (the mock) are started
// with cleanroom::ChildProcess. Failures to start throw std::runtime_error:
// this is gtest boundary code.
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

}  // namespace cleanroom::e2e

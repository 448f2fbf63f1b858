// Test helper: runs a tmux-compatible executable (real tmux or
// cleanroom-mock-tmux) as a real process on a private socket in a private
// temporary directory, and makes sure nothing it started outlives the test.
// The test process is a child subreaper, so the server daemons, pane
// processes and escaped processes are reparented to it and reaped here by pid.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cleanroom/clock.h"
#include "cleanroom/wait.h"
#include "mocks/process_probe.h"

extern char** environ;

namespace cleanroom::mocks::testing {

struct ToolResult {
  int rc = -1;
  std::string out;
  std::string err;
  bool timedOut = false;  // the caller's timeout fired; the process was killed
};

// Environment overrides: a value sets the variable, std::nullopt unsets it.
using EnvOverrides = std::map<std::string, std::optional<std::string>>;

// Runs `argv` with TMUX unset plus `env` overrides; blocks until it exits and
// its stdout/stderr are closed, or until `timeout` (then SIGKILL, reap,
// timedOut = true).
inline ToolResult runProcess(const std::vector<std::string>& argv, const EnvOverrides& env = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  std::vector<std::string> envStrings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const std::string key = text.substr(0, text.find('='));
    if (key != "TMUX" && env.count(key) == 0) envStrings.push_back(text);
  }
  for (const auto& [key, value] : env) {
    if (value) envStrings.push_back(key + "=" + *value);
  }
  std::vector<char*> envp;
  for (auto& s : envStrings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(argp[0], argp.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  ToolResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<pollfd> fds = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[] = {&result.out, &result.err};
  int open = 2;
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timedOut = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        sinks[i]->append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      ::close(fds[i].fd);
      fds[i].fd = -1;
      --open;
    }
  }
  for (const auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.rc = WEXITSTATUS(status);
  return result;
}

// Returns the command line of `pid` with spaces between the arguments.
inline std::string commandLineOf(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

// Returns numeric field `index` (1-based, as in proc(5), from 4 on) of
// /proc/PID/stat, or -1.
inline long statField(pid_t pid, int index) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= index && rest >> field; ++i) {
    if (i == index) return std::stol(field);
  }
  return -1;
}

// Returns the state letter of `pid` (field 3 of /proc/PID/stat: R, S, Z...), or
// '?' when there is no such process.
inline char processState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line) || line.rfind(')') + 2 >= line.size()) return '?';
  return line[line.rfind(')') + 2];
}

// Returns the pids whose parent is `parent`.
inline std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stoi(name));
    if (statField(pid, 4) == parent) children.push_back(pid);
  }
  return children;
}

// Base fixture: a private temp dir with `sock` in it, the tool's path, and a
// teardown that kills the server, reaps every process that came back to this
// (subreaper) process, fails the test if any is still running, and removes
// the directory.
class ToolProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }

  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "cr-mock-tmux-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    socket_ = (dir_ / "sock").string();
  }

  void TearDown() override {
    runProcess({tool_, "-S", socket_, "kill-server"}, env_);
    reapAllChildren();
    std::filesystem::remove_all(dir_);
  }

  // Runs the tool on this test's socket: `tool -S sock args...`.
  ToolResult tmux(const std::vector<std::string>& args,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::vector<std::string> argv = {tool_, "-S", socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv, env_, timeout);
  }

  // Waits (adaptively, at most 10 s) until `condition` holds; returns whether it did.
  static bool eventually(const std::function<bool()>& condition) {
    Clock& clock = Clock::system();
    return waitUntil(clock, clock.now() + std::chrono::seconds(10), AdaptiveWait{}, condition).met;
  }

  // Reaps every child of this process (servers, panes, escaped processes that
  // were reparented here) by pid; fails the test naming any still running
  // after 10 s, then kills and reaps those.
  void reapAllChildren() {
    const auto reapExited = [] {
      for (pid_t pid : childrenOfThisProcess()) {
        int status = 0;
        ::waitpid(pid, &status, WNOHANG);
      }
      return childrenOfThisProcess().empty();
    };
    if (eventually(reapExited)) return;
    for (pid_t pid : childrenOfThisProcess()) {
      ADD_FAILURE() << "left running: pid " << pid << " " << commandLineOf(pid);
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }

  std::string tool_;
  std::filesystem::path dir_;
  std::string socket_;
  EnvOverrides env_;
};

}  // namespace cleanroom::mocks::testing

#include "run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace cleanroom::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::runtime_error systemError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

struct Pipe {
  int read = -1;
  int write = -1;
};

Pipe makePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw systemError("pipe2");
  return {fds[0], fds[1]};
}

void closeFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Returns `environ` with `changes` applied, as owned strings.
std::vector<std::string> changedEnvironment(const EnvironmentChanges& changes) {
  std::vector<std::string> result;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text(*entry);
    const std::string name = text.substr(0, text.find('='));
    if (changes.count(name) == 0) result.push_back(std::move(text));
  }
  for (const auto& [name, value] : changes) {
    if (value) result.push_back(name + "=" + *value);
  }
  return result;
}

// Returns pointers into `strings`, null-terminated, for exec.
std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw systemError("waitpid");
  }
  return exitCodeOf(status);
}

int millisLeft(steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Reads whatever `fd` has into `into`; returns false at EOF or on error.
bool readSome(int fd, std::string& into) {
  char buffer[4096];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  if (n > 0) {
    into.append(buffer, static_cast<std::size_t>(n));
    return true;
  }
  return n < 0 && errno == EINTR;
}

// Reads `out` and `err` until both reach EOF or the deadline; returns false on timeout.
bool readBoth(int out, int err, std::string& outText, std::string& errText, steady_clock::time_point deadline) {
  pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const int ready = poll(fds, 2, millisLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw systemError("poll");
    if (ready == 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      if (!readSome(fds[i].fd, i == 0 ? outText : errText)) fds[i].fd = -1;
    }
  }
  return true;
}

}  // namespace

std::string CommandResult::describe() const {
  return "exit=" + std::to_string(exitCode) + "\nstdout:\n" + out + "\nstderr:\n" + err;
}

CommandResult runCommand(const std::vector<std::string>& argv, const EnvironmentChanges& environment,
                         milliseconds limit) {
  std::vector<std::string> args = argv;
  std::vector<std::string> env = changedEnvironment(environment);
  std::vector<char*> argPointers = pointers(args);
  std::vector<char*> envPointers = pointers(env);
  Pipe out = makePipe();
  Pipe err = makePipe();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);

  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, args[0].c_str(), &actions, &attributes, argPointers.data(), envPointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  closeFd(out.write);
  closeFd(err.write);
  if (spawned != 0) {
    closeFd(out.read);
    closeFd(err.read);
    errno = spawned;
    throw systemError("posix_spawn " + args[0]);
  }

  CommandResult result;
  const bool finished = readBoth(out.read, err.read, result.out, result.err, steady_clock::now() + limit);
  closeFd(out.read);
  closeFd(err.read);
  if (!finished) {
    kill(-pid, SIGKILL);
    reap(pid);
    throw std::runtime_error(args[0] + " did not finish within " + std::to_string(limit.count()) +
                             " ms and was killed; output so far:\n" + result.out + "\n" + result.err);
  }
  result.exitCode = reap(pid);
  return result;
}

}  // namespace cleanroom::e2e

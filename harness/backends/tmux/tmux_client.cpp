// One tmux client call with a deadline. Waits on the client's pidfd and its
// two pipes with poll(), so it returns the moment the client exits.
#include "tmux_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "cleanroom/duration.h"

extern char** environ;

namespace cleanroom::tmux_client {
namespace {

// Variables a tmux client must not inherit: TMUX would make it talk to the
// server it runs inside; the run markers would end up in a server it starts.
bool isWithheld(const char* entry) {
  for (const char* name : {"TMUX", "CLEANROOM_RUN_ID", "CLEANROOM_TMUX_SESSION"}) {
    const size_t length = std::strlen(name);
    if (std::strncmp(entry, name, length) == 0 && entry[length] == '=') return true;
  }
  return false;
}

std::vector<char*> clientEnvironment() {
  std::vector<char*> entries;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (!isWithheld(*entry)) entries.push_back(*entry);
  }
  entries.push_back(nullptr);
  return entries;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor() { reset(); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

struct Pipe {
  FileDescriptor read;
  FileDescriptor write;
};

Status openPipe(Pipe& pipe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::retryable(std::string("pipe2 failed: ") + std::strerror(errno));
  pipe.read.reset(fds[0]);
  pipe.write.reset(fds[1]);
  return Status::success();
}

// Reads what is available from `fd` into `sink`; returns false at end of
// file or on an error other than "would block".
bool readAvailable(int fd, std::string& sink) {
  std::array<char, 4096> buffer;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      sink.append(buffer.data(), static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

Result<pid_t> spawnClient(const std::string& binary, const std::vector<std::string>& args, int out, int err) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp = clientEnvironment();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
  pid_t pid = 0;
  const bool searchPath = binary.find('/') == std::string::npos;
  const int rc = searchPath ? ::posix_spawnp(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data())
                            : ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Error::permanent("cannot run tmux binary '" + binary + "' (" + std::strerror(rc) +
                            "); set CLEANROOM_TMUX to the tmux executable");
  }
  return pid;
}

int exitCodeOf(int waitStatus) {
  if (WIFEXITED(waitStatus)) return WEXITSTATUS(waitStatus);
  if (WIFSIGNALED(waitStatus)) return 128 + WTERMSIG(waitStatus);
  return 255;
}

int waitBlocking(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool hasExited(pid_t pid, int pidfd, int& status) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    status = waitBlocking(pid);
    return true;
  }
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

Result<TmuxOutput> run(const std::string& binary, const std::vector<std::string>& args, milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  Pipe out, err;
  if (Status s = openPipe(out); !s) return s.error();
  if (Status s = openPipe(err); !s) return s.error();
  Result<pid_t> spawned = spawnClient(binary, args, out.write.get(), err.write.get());
  if (!spawned) return spawned.error();
  const pid_t pid = *spawned;
  out.write.reset();
  err.write.reset();
  ::fcntl(out.read.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err.read.get(), F_SETFL, O_NONBLOCK);
  FileDescriptor pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  TmuxOutput output;
  bool outOpen = true, errOpen = true;
  int waitStatus = 0;
  for (;;) {
    if (hasExited(pid, pidfd.get(), waitStatus)) break;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds(0)) {
      ::kill(pid, SIGKILL);  // our own unreaped child: the pid cannot have been reused
      waitBlocking(pid);
      return Error::retryable("tmux client did not finish within " + formatDuration(timeout) +
                              "; killed it (pid " + std::to_string(pid) + ")");
    }
    std::array<pollfd, 3> fds{pollfd{outOpen ? out.read.get() : -1, POLLIN, 0},
                              pollfd{errOpen ? err.read.get() : -1, POLLIN, 0}, pollfd{pidfd.get(), POLLIN, 0}};
    // Without a pidfd (old kernels) the exit is noticed by polling waitpid.
    const int slice = pidfd.get() >= 0 ? static_cast<int>(left.count()) : 5;
    if (::poll(fds.data(), fds.size(), std::min(slice, static_cast<int>(left.count()))) < 0 && errno != EINTR) {
      const std::string reason = std::strerror(errno);
      ::kill(pid, SIGKILL);
      waitBlocking(pid);
      return Error::retryable("waiting for the tmux client failed (poll: " + reason + ")");
    }
    if (outOpen && fds[0].revents != 0) outOpen = readAvailable(out.read.get(), output.out);
    if (errOpen && fds[1].revents != 0) errOpen = readAvailable(err.read.get(), output.err);
  }
  // The client has exited: take what it wrote, without waiting for processes
  // it started (a daemonised server) that may still hold the pipes.
  if (outOpen) readAvailable(out.read.get(), output.out);
  if (errOpen) readAvailable(err.read.get(), output.err);
  while (!output.err.empty() && (output.err.back() == '\n' || output.err.back() == '\r')) output.err.pop_back();
  output.exitCode = exitCodeOf(waitStatus);
  output.elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  return output;
}

}  // namespace cleanroom::tmux_client
